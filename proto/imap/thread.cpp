// proto/imap/thread.cpp — see thread.h. The REFERENCES steps are numbered as
// in RFC 5256 §3; the tree is a vector of containers (a message or a dummy)
// under one virtual root, walked in explicit post-order.
#include "proto/imap/thread.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "proto/imap/sort.h"

namespace ringmta::imap {
namespace {

struct Node {
  int msg = -1;  // index into msgs; -1: a dummy
  int parent = -1;
  std::vector<int> children;
};

struct MsgInfo {
  int64_t date = 0;
  uint32_t seq = 0;
  std::string subject;  // folded base subject
  bool reply = false;
};

class Tree {
 public:
  explicit Tree(const std::vector<MsgInfo>& info) : info_(info) { nodes.emplace_back(); }  // 0: root
  std::vector<Node> nodes;

  int add(int msg) {
    nodes.push_back(Node{msg, -1, {}});
    return static_cast<int>(nodes.size()) - 1;
  }
  bool dummy(int n) const { return nodes[n].msg < 0; }
  // Whether `a` is `b` or one of its ancestors; bounded by the node count.
  bool is_ancestor_or_self(int a, int b) const {
    for (size_t steps = 0; b >= 0 && steps <= nodes.size(); ++steps) {
      if (a == b) return true;
      b = nodes[b].parent;
    }
    return false;
  }
  void link(int parent, int child) {
    nodes[child].parent = parent;
    nodes[parent].children.push_back(child);
  }
  void unlink(int child) {
    const int p = nodes[child].parent;
    if (p < 0) return;
    auto& c = nodes[p].children;
    c.erase(std::find(c.begin(), c.end(), child));
    nodes[child].parent = -1;
  }
  // The message that stands for `n` when sorting or taking a subject: n, or
  // a dummy's first child (repeatedly); -1 for an empty dummy.
  int representative(int n) const {
    for (size_t steps = 0; n >= 0 && steps <= nodes.size(); ++steps) {
      if (!dummy(n)) return nodes[n].msg;
      n = nodes[n].children.empty() ? -1 : nodes[n].children.front();
    }
    return -1;
  }
  bool date_less(int a, int b) const {
    const int ma = representative(a), mb = representative(b);
    if (ma < 0 || mb < 0) return ma < mb;
    if (info_[ma].date != info_[mb].date) return info_[ma].date < info_[mb].date;
    return info_[ma].seq < info_[mb].seq;
  }
  // Nodes under `from` (inclusive), children before their parent.
  std::vector<int> post_order(int from) const {
    std::vector<int> out, stack{from};
    while (!stack.empty()) {
      const int n = stack.back();
      stack.pop_back();
      out.push_back(n);
      for (int c : nodes[n].children) stack.push_back(c);
    }
    std::reverse(out.begin(), out.end());
    return out;
  }
  void sort_children(int n) {
    auto& c = nodes[n].children;
    std::stable_sort(c.begin(), c.end(), [&](int a, int b) { return date_less(a, b); });
  }

 private:
  const std::vector<MsgInfo>& info_;
};

std::string first_id(const std::optional<std::string>& v) {
  if (!v) return {};
  std::vector<std::string> ids = parse_msg_ids(*v, kMaxThreadReferences);
  return ids.empty() ? std::string() : ids.front();
}

// Step 1: link messages by Message-ID, References and In-Reply-To.
void link_references(Tree& t, const std::vector<MessageData>& msgs, const std::vector<uint32_t>& by_seq) {
  std::unordered_map<std::string, int> ids;
  auto container = [&](const std::string& id) {
    auto [it, fresh] = ids.emplace(id, 0);
    if (fresh) it->second = t.add(-1);
    return it->second;
  };
  for (uint32_t i : by_seq) {
    const MessageData& m = msgs[i];
    const std::string own = first_id(message_header(m, "message-id"));
    int self;
    if (own.empty() || (ids.count(own) != 0 && !t.dummy(ids[own]))) {
      self = t.add(static_cast<int>(i));  // none, or a duplicate: a unique id of its own
    } else {
      self = container(own);
      t.nodes[self].msg = static_cast<int>(i);
    }
    std::vector<std::string> refs;
    if (std::optional<std::string> r = message_header(m, "references")) refs = parse_msg_ids(*r, kMaxThreadReferences);
    if (refs.empty()) {
      std::string irt = first_id(message_header(m, "in-reply-to"));
      if (!irt.empty()) refs.push_back(std::move(irt));
    }
    // (A) Chain the references, keeping existing links and refusing loops.
    int prev = -1;
    for (const std::string& id : refs) {
      const int c = container(id);
      if (prev >= 0 && t.nodes[c].parent < 0 && !t.is_ancestor_or_self(c, prev)) t.link(prev, c);
      prev = c;
    }
    // (B) The last reference is the message's parent, replacing any earlier one.
    t.unlink(self);
    if (prev >= 0 && !t.is_ancestor_or_self(self, prev)) t.link(prev, self);
  }
  for (size_t n = 1; n < t.nodes.size(); ++n)
    if (t.nodes[n].parent < 0) t.link(0, static_cast<int>(n));  // (2) the root set
}

// Step 4: drop childless dummies; replace a dummy by its children, except at
// the top level when it has more than one.
void prune(Tree& t) {
  for (int n : t.post_order(0)) {
    std::vector<int> kept;
    for (int c : t.nodes[n].children) {
      if (!t.dummy(c)) {
        kept.push_back(c);
        continue;
      }
      auto& grand = t.nodes[c].children;
      if (grand.empty()) continue;
      if (n != 0 || grand.size() == 1) {
        for (int g : grand) {
          t.nodes[g].parent = n;
          kept.push_back(g);
        }
        grand.clear();
        t.nodes[c].parent = -1;
      } else {
        kept.push_back(c);
      }
    }
    t.nodes[n].children = std::move(kept);
  }
}

// Step 6: gather top-level threads with the same base subject.
void merge_subjects(Tree& t, const std::vector<MsgInfo>& info) {
  auto subject = [&](int n) -> const std::string* {
    const int m = t.representative(n);
    return m < 0 || info[m].subject.empty() ? nullptr : &info[m].subject;
  };
  auto reply = [&](int n) { return !t.dummy(n) && info[t.nodes[n].msg].reply; };
  std::vector<int> roots = t.nodes[0].children;
  std::unordered_map<std::string, int> table;
  for (int r : roots) {  // (A)
    const std::string* s = subject(r);
    if (s == nullptr) continue;
    auto [it, fresh] = table.emplace(*s, r);
    if (!fresh && !t.dummy(it->second) && (t.dummy(r) || (reply(it->second) && !reply(r)))) it->second = r;
  }
  std::vector<int> out = roots;  // top level after merging; -1 = removed
  std::unordered_map<int, size_t> pos;
  for (size_t i = 0; i < out.size(); ++i) pos[out[i]] = i;
  for (size_t i = 0; i < roots.size(); ++i) {  // (B)
    const int r = roots[i];
    const std::string* s = subject(r);
    if (s == nullptr) continue;
    const std::string key = *s;
    const int tm = table[key];
    if (tm == r) continue;
    out[pos[r]] = -1;
    t.nodes[r].parent = -1;
    if (t.dummy(tm) && t.dummy(r)) {
      for (int c : t.nodes[r].children) t.link(tm, c);
      t.nodes[r].children.clear();
    } else if (t.dummy(tm) || (reply(r) && !reply(tm))) {
      t.link(tm, r);
    } else {
      const int d = t.add(-1);
      out[pos[tm]] = d;
      pos[d] = pos[tm];
      t.nodes[tm].parent = -1;
      t.link(d, tm);
      t.link(d, r);
      t.nodes[d].parent = 0;
      table[key] = d;
    }
  }
  t.nodes[0].children.clear();
  for (int n : out)
    if (n >= 0) t.nodes[0].children.push_back(n);
}

void write(std::string& out, const Tree& t, const std::vector<MessageData>& msgs, bool use_uid) {
  struct Item {
    int node;
    bool close;
  };
  std::vector<Item> stack;
  const auto& top = t.nodes[0].children;
  for (auto it = top.rbegin(); it != top.rend(); ++it) stack.push_back({*it, false});
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    if (item.close) {
      out.push_back(')');
      continue;
    }
    if (t.representative(item.node) < 0) continue;  // an empty dummy: nothing to write
    out.push_back('(');
    bool wrote = false;
    int cur = item.node;
    for (size_t steps = 0; steps <= t.nodes.size(); ++steps) {
      if (!t.dummy(cur)) {
        if (wrote) out.push_back(' ');
        const MessageData& m = msgs[t.nodes[cur].msg];
        out += std::to_string(use_uid ? m.uid : m.seq);
        wrote = true;
      }
      const auto& ch = t.nodes[cur].children;
      if (ch.size() == 1) {
        cur = ch.front();
        continue;
      }
      if (ch.size() > 1) {
        if (wrote) out.push_back(' ');
        stack.push_back({-1, true});
        for (auto it = ch.rbegin(); it != ch.rend(); ++it) stack.push_back({*it, false});
        cur = -1;
      }
      break;
    }
    if (cur >= 0) out.push_back(')');
  }
}

}  // namespace

bool thread_algorithm_supported(std::string_view a) { return a == "ORDEREDSUBJECT" || a == "REFERENCES"; }

unsigned thread_needs(std::string_view a) {
  if (a == "REFERENCES") return kNeedStructure | kNeedBody;
  return a == "ORDEREDSUBJECT" ? kNeedStructure : kNeedNothing;
}

std::string thread_messages(const std::vector<MessageData>& msgs, std::string_view algorithm, bool use_uid) {
  if (!thread_algorithm_supported(algorithm)) return {};
  std::vector<MsgInfo> info(msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    info[i].date = sent_seconds(msgs[i]);
    info[i].seq = msgs[i].seq;
    const std::optional<std::string> subj = message_header(msgs[i], "subject");
    info[i].subject = fold_case(base_subject(subj ? *subj : std::string(), &info[i].reply));
  }
  std::vector<uint32_t> by_seq(msgs.size());
  std::iota(by_seq.begin(), by_seq.end(), 0u);
  std::stable_sort(by_seq.begin(), by_seq.end(), [&](uint32_t a, uint32_t b) { return msgs[a].seq < msgs[b].seq; });
  Tree t(info);
  if (algorithm == "ORDEREDSUBJECT") {
    // Threads of equal base subject; the earliest message is the parent of
    // the others (in date order); threads in the order of their parents.
    std::vector<uint32_t> order = by_seq;
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      if (info[a].subject != info[b].subject) return info[a].subject < info[b].subject;
      if (info[a].date != info[b].date) return info[a].date < info[b].date;
      return info[a].seq < info[b].seq;
    });
    int parent = -1;
    for (size_t k = 0; k < order.size(); ++k) {
      const int n = t.add(static_cast<int>(order[k]));
      if (k > 0 && info[order[k]].subject == info[order[k - 1]].subject) {
        t.link(parent, n);
      } else {
        t.link(0, n);
        parent = n;
      }
    }
    t.sort_children(0);
  } else {
    link_references(t, msgs, by_seq);
    prune(t);
    for (int c : t.nodes[0].children) t.sort_children(c);  // (5)
    t.sort_children(0);
    merge_subjects(t, info);
    for (int n : t.post_order(0)) t.sort_children(n);  // (7)
  }
  std::string out;
  write(out, t, msgs, use_uid);
  return out;
}

}  // namespace ringmta::imap
