// queue/batch.cpp — Batch: an atomic set of queue changes built by a shard
// and handed to Queue::commit(). Building a batch is plain data shuffling;
// validation happens when a queue applies it (validate_batch, below), so
// one bad op fails its whole batch and nothing else.
#include "queue/batch_check.h"
#include "queue/codec.h"

namespace ringmta::queue {

void Batch::put_message(Envelope envelope, std::string body) {
  ops_.push_back(Op{Op::Kind::Put, std::move(envelope), Envelope{}, std::move(body), 0, {}});
}

void Batch::update_envelope(const Envelope& previous, Envelope updated) {
  ops_.push_back(Op{Op::Kind::Update, std::move(updated), previous, std::string{}, 0, {}});
}

void Batch::remove_message(const Envelope& stored) {
  ops_.push_back(Op{Op::Kind::Remove, stored, Envelope{}, std::string{}, 0, {}});
}

void Batch::put_extra(uint32_t family, std::string key, std::string value) {
  ops_.push_back(Op{Op::Kind::ExtraPut, Envelope{}, Envelope{}, std::move(value), family, std::move(key)});
}

void Batch::delete_extra(uint32_t family, std::string key) {
  ops_.push_back(Op{Op::Kind::ExtraDelete, Envelope{}, Envelope{}, std::string{}, family, std::move(key)});
}

void Batch::merge(Batch other) {
  needs_sync_ |= other.needs_sync_;
  if (ops_.empty()) {
    ops_ = std::move(other.ops_);
    return;
  }
  ops_.reserve(ops_.size() + other.ops_.size());
  for (Op& op : other.ops_) ops_.push_back(std::move(op));
}

Status validate_batch(const Batch& batch, size_t extra_families) {
  for (const Batch::Op& op : batch.ops()) {
    if (op.is_extra()) {
      if (op.family >= extra_families)
        return {Status::Code::InvalidArgument, "unknown extra column family " + std::to_string(op.family)};
      if (op.key.empty() || op.key.size() > kMaxExtraKey)
        return {Status::Code::InvalidArgument, "extra key of bad length"};
      continue;
    }
    if (Status s = codec::validate_id(op.envelope.id); !s.ok()) return s;
    if (op.envelope.recipients.size() > codec::kMaxRecipients)
      return {Status::Code::InvalidArgument, "too many recipients"};
    if (op.kind == Batch::Op::Kind::Update && op.previous.id != op.envelope.id)
      return {Status::Code::InvalidArgument, "update_envelope: previous and updated ids differ"};
  }
  return Status::Ok();
}

size_t batch_bytes(const Batch& batch) {
  size_t n = 0;
  for (const Batch::Op& op : batch.ops()) {
    // Rough: body plus a fixed allowance per key/record; only used to cap a group commit.
    n += op.body.size() + op.key.size() + 128 * (1 + op.envelope.recipients.size());
  }
  return n;
}

}  // namespace ringmta::queue
