// queue/batch_check.h — helpers both queue implementations apply to a Batch
// (private to queue/).
#pragma once

#include <cstddef>

#include "queue/queue.h"

namespace ringmta::queue {

// Ok, or InvalidArgument naming the first bad op (bad id, too many recipients,
// an update whose previous envelope is another message's).
Status validate_batch(const Batch& batch);

// Approximate encoded size, used to cap one group commit at max_batch_bytes.
size_t batch_bytes(const Batch& batch);

}  // namespace ringmta::queue
