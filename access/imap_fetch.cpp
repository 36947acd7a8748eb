// access/imap_fetch.cpp — the commands that read message text or structure:
// FETCH (and UID FETCH, with CHANGEDSINCE/VANISHED) and SEARCH/SORT/THREAD
// (with ESEARCH RETURN and SEARCHRES).
//
// Two stages. On the owner shard (a step, imap_view.h) the session's view is
// brought up to date, the set resolved, \Seen applied when a FETCH sets it,
// and the messages' records copied into a Job. Then the Job runs on the
// Service's reader threads: the MIME structure and/or the message bytes are
// read only when the command needs them (fetch_needs/search_needs), and the
// response text is produced there too (proto/imap is pure), so a 10,000
// message FETCH costs a shard only the sending. FETCH runs in chunks and
// waits for the client to read (kOutputCap) between them; SEARCH, SORT and
// THREAD make one small answer in one go.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>

#include "access/imap_session.h"
#include "base/clock.h"
#include "mail/mime.h"
#include "mailbox/store.h"
#include "proto/imap/fetch_response.h"
#include "proto/imap/search_eval.h"
#include "proto/imap/sort.h"
#include "proto/imap/thread.h"
#include "telemetry/metrics.h"

namespace ringmta::access {

namespace iv = imap_view;

namespace {

constexpr size_t kOutputCap = 256 * 1024;
constexpr size_t kChunkMessages = 256;        // per reader job
constexpr uint64_t kChunkBodyBytes = 1 << 20;  // message bytes per reader job
// Reader jobs of one FETCH in flight at once: the next chunk is read and
// written while the shard sends the last one (answers still go out in order).
constexpr int kPipeline = 2;

struct Record {
  uint32_t seq = 0, uid = 0;
  uint8_t flags = 0;
  bool recent = false;
  std::vector<std::string> keywords;
  uint64_t size = 0;
  int64_t date = 0;
  uint64_t modseq = 0;
  std::string body_id;
};

Record record_of(const mailbox::Message& m, const iv::View& v) {
  Record r;
  r.seq = iv::seq_of(v, m.uid);
  r.uid = m.uid;
  r.flags = m.flags;
  r.recent = std::binary_search(v.recent.begin(), v.recent.end(), m.uid);
  r.keywords = m.keywords;
  r.size = m.size;
  r.date = m.internal_date_ms;
  r.modseq = m.modseq;
  r.body_id = m.body_id;
  return r;
}

// What a reader loads for one record: the structure and body when asked.
struct Loaded {
  std::optional<mail::MimeStructure> structure;
  std::string body;
  bool has_body = false;
};

Loaded load(queue::Queue& q, const mailbox::Families& f, const Record& r, unsigned needs) {
  Loaded l;
  if (needs & imap::kNeedStructure) {
    std::string blob;
    if (mailbox::read_structure(q, f, r.body_id, blob).ok()) l.structure = mail::decode_structure(blob);
  }
  if (needs & imap::kNeedBody) l.has_body = mailbox::read_body(q, f, r.body_id, l.body).ok();
  return l;
}

imap::MessageData data_of(const Record& r, const Loaded& l) {
  imap::MessageData d;
  d.seq = r.seq;
  d.uid = r.uid;
  d.flags = r.flags;
  d.recent = r.recent;
  d.keywords = &r.keywords;
  d.size = r.size;
  d.internal_date_ms = r.date;
  d.modseq = r.modseq;
  d.structure = l.structure ? &*l.structure : nullptr;
  d.body = l.body;
  d.has_body = l.has_body;
  return d;
}

}  // namespace

struct ImapSession::Job {
  std::string tag;
  std::vector<Record> records;  // read-only once the owner step is done (readers share it)
  size_t next = 0;              // the first record no chunk has taken yet
  uint64_t submitted = 0, sent = 0;  // chunks handed to readers / sent to the client
  int in_flight = 0;
  std::map<uint64_t, std::string> ready;  // chunks read ahead of their turn
  unsigned needs = 0;
  std::vector<imap::FetchAtt> atts;
  imap::FetchOptions options;
  std::string verb;  // "FETCH" / "UID FETCH" for the tagged reply
};

// ---- FETCH ----

void ImapSession::cmd_fetch(imap::Command& cmd) {
  if (cmd.has_changedsince) shared_->modes.condstore = true;  // RFC 7162 §3.1: CONDSTORE-enabling
  if (cmd.vanished && (!cmd.uid || !shared_->modes.qresync || !cmd.has_changedsince))
    return bad(cmd.tag, "VANISHED needs UID FETCH, QRESYNC enabled and CHANGEDSINCE");
  auto job = std::make_shared<Job>();
  job->tag = cmd.tag;
  job->atts = cmd.fetch;
  job->needs = imap::fetch_needs(job->atts);
  job->verb = cmd.uid ? "UID FETCH" : "FETCH";
  const bool sets_seen = imap::sets_seen(job->atts) && !shared_->view.read_only;
  auto c = std::make_shared<imap::Command>(std::move(cmd));
  on_owner(
      c->tag,
      [c, job, sets_seen](Owner& o, Finish finish) {
        std::string out;
        iv::View& v = o.shared.view;
        const mailbox::Mailbox* mb = v.selected ? iv::mailbox_by_id(o.state, v.mailbox_id) : nullptr;
        iv::sync(out, v, mb, o.user, o.shared.modes, c->uid);
        const iv::Modes modes = o.shared.modes;
        job->options.write.utf8 = modes.utf8 || modes.rev2;
        job->options.write.rev2 = modes.rev2;
        job->options.rev2 = modes.rev2;
        job->options.condstore = modes.condstore;
        job->options.uid_command = c->uid || modes.condstore;
        if (!mb) {
          o.service.finish(o.ticket, true);
          return finish(out);
        }
        std::vector<uint32_t> uids = iv::resolve(v, c->set, c->uid);
        if (c->vanished) {
          // UIDs of the range the client asked about that are gone (RFC 7162
          // §3.2.6; UIDs that never existed may be included).
          std::vector<uint32_t> gone;
          for (const imap::SeqRange& r : c->set.ranges) {
            uint32_t lo = r.lo == 0 ? mb->uidnext - 1 : r.lo, hi = r.hi == 0 ? mb->uidnext - 1 : r.hi;
            if (lo > hi) std::swap(lo, hi);
            hi = std::min(hi, mb->uidnext - 1);
            for (uint32_t x = lo; x <= hi && gone.size() < 1000000; ++x)
              if (!iv::message_by_uid(*mb, x) && !iv::seq_of(v, x)) gone.push_back(x);
          }
          std::sort(gone.begin(), gone.end());
          gone.erase(std::unique(gone.begin(), gone.end()), gone.end());
          if (!gone.empty()) out += "* VANISHED (EARLIER) " + iv::set_text(gone) + "\r\n";
        }
        std::vector<uint32_t> unseen;
        for (uint32_t uid : uids) {
          const mailbox::Message* m = iv::message_by_uid(*mb, uid);
          if (!m) continue;  // expunged, not yet told: nothing to say (RFC 9051 §7.5.1 keeps its number)
          if (c->has_changedsince && m->modseq <= c->changedsince) continue;
          if (sets_seen && !(m->flags & mailbox::kSeen)) unseen.push_back(uid);
          job->records.push_back(record_of(*m, v));
        }
        if (unseen.empty()) {
          o.service.finish(o.ticket, true);
          return finish(out);
        }
        // Reading sets \Seen (RFC 3501 §6.4.5): stored first, so the answer
        // and other sessions agree; the FETCH then includes FLAGS.
        queue::Batch batch;
        const std::string name = mb->name;
        if (!o.state.store(batch, name, unseen, mailbox::StoreMode::Add, mailbox::kSeen, {}).ok()) {
          o.service.finish(o.ticket, false);
          return finish(out);
        }
        job->options.add_flags = true;
        o.service.commit(o.ticket, std::move(batch), [job, out, finish, name, state = &o.state,
                                                      keep = o.keep](queue::Status s) {
          if (s.ok())
            if (const mailbox::Mailbox* now = state->find(name)) {
              for (Record& r : job->records)
                if (const mailbox::Message* m = iv::message_by_uid(*now, r.uid)) {
                  r.flags = m->flags;
                  r.modseq = m->modseq;
                }
              keep->view.modseq_seen = now->highest_modseq;
            }
          finish(out);
        });
      },
      [this, job](std::string text) {
        send(text);
        if (job->records.empty()) {
          busy_ = false;
          return done(job->tag, "OK " + job->verb + " completed");
        }
        run_job(job);
      });
}

void ImapSession::run_job(std::shared_ptr<Job> job) {
  if (closing_) return;
  if (job->needs == imap::kNeedNothing) {
    // Records only: formatted here, a chunk at a time.
    std::string out;
    const Loaded none;
    while (job->next < job->records.size() && out.size() < kOutputCap) {
      imap::append_fetch(out, data_of(job->records[job->next], none), job->atts, job->options);
      ++job->next;
    }
    const uint64_t chunk = job->submitted++;
    ++job->in_flight;
    return job_chunk(std::move(job), chunk, std::move(out));
  }
  ImapShard* home = &shard_;
  const uint64_t number = number_;
  mailbox::Service* svc = shard_.mailbox;
  if (!svc) return close_connection();
  queue::Queue* q = &svc->queue();
  const mailbox::Families f = svc->families();
  while (job->in_flight < kPipeline && job->next < job->records.size()) {
    // A chunk: up to kChunkMessages records or kChunkBodyBytes of text.
    const size_t begin = job->next;
    size_t end = begin;
    uint64_t bytes = 0;
    while (end < job->records.size() && end - begin < kChunkMessages && bytes < kChunkBodyBytes) {
      bytes += (job->needs & imap::kNeedBody) ? job->records[end].size : 2048;
      ++end;
    }
    job->next = end;
    const uint64_t chunk = job->submitted++;
    ++job->in_flight;
    svc->read<std::string>(
        *shard_.reactor,
        [job, q, f, begin, end]() {
          std::string out;
          for (size_t i = begin; i < end; ++i) {
            const Record& r = job->records[i];
            const Loaded l = load(*q, f, r, job->needs);
            if (!imap::append_fetch(out, data_of(r, l), job->atts, job->options))
              spdlog::warn("imap fetch uid={} body={}: stored message or structure missing", r.uid, r.body_id);
          }
          return out;
        },
        [home, number, job, chunk](std::string out) {
          auto it = home->sessions.find(number);
          if (it != home->sessions.end()) it->second->job_chunk(job, chunk, std::move(out));
        });
  }
}

// A chunk is ready: chunks go out in order; more are read while the client
// keeps up (kOutputCap), and the tagged OK follows the last.
void ImapSession::job_chunk(std::shared_ptr<Job> job, uint64_t chunk, std::string text) {
  if (closing_) return;
  --job->in_flight;
  job->ready.emplace(chunk, std::move(text));
  for (auto it = job->ready.find(job->sent); it != job->ready.end(); it = job->ready.find(job->sent)) {
    send(it->second);
    job->ready.erase(it);
    ++job->sent;
  }
  last_activity_ = engine::Clock::now();
  if (job->next >= job->records.size() && job->in_flight == 0 && job->ready.empty()) {
    if (drain_job_ == job) drain_job_.reset();
    fetched_ += job->records.size();
    telemetry::local().imap_fetched += job->records.size();
    busy_ = false;
    return done(job->tag, "OK " + job->verb + " completed");
  }
  if (conn_.pending_output() >= kOutputCap) {
    wait_drain_ = true;
    drain_job_ = std::move(job);
    return update_reading();
  }
  run_job(std::move(job));
}

// ---- SEARCH, SORT, THREAD ----

void ImapSession::cmd_search(imap::Command& cmd) {
  if (!imap::charset_supported(cmd.charset)) return reply(cmd.tag, "NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
  if (cmd.name == imap::Name::Sort)
    for (const std::string& k : cmd.sort_keys)
      if (k != "REVERSE" && !imap::sort_key_supported(k)) return bad(cmd.tag, "Unsupported sort key " + k);
  if (cmd.name == imap::Name::Thread && !imap::thread_algorithm_supported(cmd.mechanism))
    return bad(cmd.tag, "Unsupported thread algorithm");
  unsigned needs = imap::search_needs(cmd.criteria);
  if (cmd.name == imap::Name::Sort) needs |= imap::sort_needs(cmd.sort_keys);
  if (cmd.name == imap::Name::Thread) needs |= imap::thread_needs(cmd.mechanism);
  auto c = std::make_shared<imap::Command>(std::move(cmd));
  auto records = std::make_shared<std::vector<Record>>();
  auto ctx = std::make_shared<imap::SearchContext>();
  on_owner(
      c->tag,
      [c, records, ctx](Owner& o, Finish finish) {
        std::string out;
        iv::View& v = o.shared.view;
        const mailbox::Mailbox* mb = v.selected ? iv::mailbox_by_id(o.state, v.mailbox_id) : nullptr;
        iv::sync(out, v, mb, o.user, o.shared.modes, c->uid);
        o.service.finish(o.ticket, true);
        if (mb)
          for (uint32_t uid : v.uids)
            if (const mailbox::Message* m = iv::message_by_uid(*mb, uid)) records->push_back(record_of(*m, v));
        ctx->max_seq = static_cast<uint32_t>(v.uids.size());
        ctx->max_uid = v.uids.empty() ? 0 : v.uids.back();
        finish(out);
      },
      [this, c, records, ctx, needs](std::string text) {
        send(text);
        auto saved = std::make_shared<std::vector<uint32_t>>(shared_->view.saved);
        ctx->saved_uids = saved.get();
        ctx->now_ms = base::unix_ms();
        const iv::Modes modes = shared_->modes;
        ImapShard* home = &shard_;
        const uint64_t number = number_;
        mailbox::Service* svc = shard_.mailbox;
        queue::Queue* q = &svc->queue();
        const mailbox::Families f = svc->families();
        struct Result {
          std::vector<uint32_t> seqs, uids;
          uint64_t max_modseq = 0;
          std::string ordered;  // SORT / THREAD text
        };
        svc->read<std::shared_ptr<Result>>(
            *shard_.reactor,
            [c, records, ctx, saved, needs, q, f]() {
              auto res = std::make_shared<Result>();
              // SORT and THREAD keep what they matched (with structures) to order it.
              const bool keep = c->name != imap::Name::Search;
              std::vector<Loaded> kept_loaded;
              std::vector<const Record*> kept;
              const imap::SearchProgram program(c->criteria);  // sets and strings prepared once
              for (const Record& r : *records) {
                Loaded l = load(*q, f, r, needs);
                if (!program.matches(data_of(r, l), *ctx)) continue;
                res->seqs.push_back(r.seq);
                res->uids.push_back(r.uid);
                res->max_modseq = std::max(res->max_modseq, r.modseq);
                if (keep) {
                  kept.push_back(&r);
                  if (!(needs & imap::kNeedBody)) l.body.clear();
                  kept_loaded.push_back(std::move(l));
                }
              }
              if (keep) {
                std::vector<imap::MessageData> msgs;
                for (size_t i = 0; i < kept.size(); ++i) msgs.push_back(data_of(*kept[i], kept_loaded[i]));
                if (c->name == imap::Name::Sort) {
                  for (uint32_t i : imap::sort_messages(msgs, c->sort_keys))
                    res->ordered += " " + std::to_string(c->uid ? msgs[i].uid : msgs[i].seq);
                } else {
                  res->ordered = imap::thread_messages(msgs, c->mechanism, c->uid);
                }
              }
              return res;
            },
            [home, number, c, modes](std::shared_ptr<Result> res) {
              auto it = home->sessions.find(number);
              if (it == home->sessions.end()) return;
              ImapSession& s = *it->second;
              const std::vector<uint32_t>& nums = c->uid ? res->uids : res->seqs;
              std::string out;
              const bool modseq = [&] {
                // MODSEQ in the criteria: the answer carries the highest (RFC 7162 §3.1.5).
                std::vector<const imap::SearchKey*> stack{&c->criteria};
                for (size_t i = 0; i < stack.size() && i < 10000; ++i) {
                  if (stack[i]->key == "MODSEQ") return true;
                  for (const auto& ch : stack[i]->children) stack.push_back(&ch);
                }
                return false;
              }();
              auto has = [&](std::string_view o) {
                return std::find(c->search_return.begin(), c->search_return.end(), o) != c->search_return.end();
              };
              if (c->name == imap::Name::Thread) {
                out = "* THREAD" + std::string(res->ordered.empty() ? "" : " ") + res->ordered + "\r\n";
              } else if (c->name == imap::Name::Sort && !c->esearch) {
                out = "* SORT" + res->ordered + "\r\n";
              } else if (c->esearch || modes.rev2) {
                // ESEARCH (RFC 4731 / RFC 9051): RETURN () means ALL.
                const bool all = c->search_return.empty() || has("ALL");
                if (has("SAVE")) s.shared_->view.saved = res->uids;
                const bool only_save = has("SAVE") && c->search_return.size() == 1;
                if (!only_save) {
                  out = "* ESEARCH (TAG \"" + c->tag + "\")";
                  if (c->uid) out += " UID";
                  if (!nums.empty()) {
                    if (has("MIN")) out += " MIN " + std::to_string(*std::min_element(nums.begin(), nums.end()));
                    if (has("MAX")) out += " MAX " + std::to_string(*std::max_element(nums.begin(), nums.end()));
                    if (all) {
                      std::vector<uint32_t> sorted = nums;
                      std::sort(sorted.begin(), sorted.end());
                      out += " ALL " + iv::set_text(sorted);
                    }
                  }
                  if (has("COUNT")) out += " COUNT " + std::to_string(nums.size());
                  if (modseq && !nums.empty()) out += " MODSEQ " + std::to_string(res->max_modseq);
                  out += "\r\n";
                }
              } else {
                out = "* SEARCH";
                for (uint32_t n : nums) out += " " + std::to_string(n);
                if (modseq && !nums.empty()) out += " (MODSEQ " + std::to_string(res->max_modseq) + ")";
                out += "\r\n";
              }
              s.send(out);
              s.busy_ = false;
              s.done(c->tag, std::string("OK ") + (c->uid ? "UID " : "") + std::string(imap::name_text(c->name)) +
                                 " completed");
            });
      });
}

}  // namespace ringmta::access
