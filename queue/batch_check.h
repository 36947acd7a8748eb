// queue/batch_check.h — helpers both queue implementations apply to a Batch
// (private to queue/).
#pragma once

#include <cstddef>

#include "queue/queue.h"

namespace ringmta::queue {

// Longest key of an extra column family op.
inline constexpr size_t kMaxExtraKey = 64 << 10;

// Ok, or InvalidArgument naming the first bad op (bad id, too many recipients,
// an update whose previous envelope is another message's, an extra op on a
// family id >= extra_families or with an empty or over-long key).
Status validate_batch(const Batch& batch, size_t extra_families);

// Approximate encoded size, used to cap one group commit at max_batch_bytes.
size_t batch_bytes(const Batch& batch);

}  // namespace ringmta::queue
