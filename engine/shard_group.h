// engine/shard_group.h — N shard threads, each running its own Reactor.
#pragma once

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "engine/reactor.h"

namespace ringmta::engine {

class ShardGroup {
 public:
  // `count` 0 means one shard per online CPU.
  explicit ShardGroup(unsigned count, const ReactorOptions& options = {});
  ~ShardGroup();  // stops and joins

  unsigned size() const;
  Reactor& shard(unsigned i);

  // Start the threads. `init` runs first on each shard's thread (set up listeners,
  // per-shard services) before its loop starts; a non-zero return aborts start()
  // with that errno after stopping the other shards.
  int start(std::function<int(Reactor&)> init);
  // Ask every shard to stop, and wait for the threads.
  void stop_and_join();

 private:
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<std::thread> threads_;
};

}  // namespace ringmta::engine
