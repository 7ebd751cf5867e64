// The BLAKE3 tree over the lane cores: chunk chaining values are computed many at a time,
// then each level of parent nodes is computed many at a time, so the whole tree runs wide.
//
// Inputs up to Hasher::kSubtreeLen are one left-balanced subtree reduced level by level.
// Longer inputs are a sequence of such aligned subtrees whose CVs meet on a stack, merged
// lazily (a CV is only merged once more input proves it is not the root).
#include <algorithm>
#include <cstdlib>
#include <new>

#include "blake3_impl.h"

namespace peerlink {
namespace blake3 {

namespace {

constexpr size_t kMaxSubtreeChunks = Hasher::kSubtreeLen / kChunkLen;

void words_to_bytes(const uint32_t cv[8], uint8_t out[kOutLen]) {
  for (int i = 0; i < 8; i++) store_le32(out + 4 * i, cv[i]);
}

// One chunk of 0..1024 bytes, its last block possibly partial.
void chunk_cv(const uint8_t *in, size_t len, uint64_t chunk_counter, bool root,
              uint8_t out[kOutLen]) {
  uint32_t cv[8];
  std::memcpy(cv, kIV, sizeof(cv));
  const size_t nblocks = len == 0 ? 1 : (len + kBlockLen - 1) / kBlockLen;
  for (size_t b = 0; b < nblocks; b++) {
    uint8_t flags = b == 0 ? CHUNK_START : 0;
    const size_t block_len = std::min(kBlockLen, len - b * kBlockLen);
    const uint8_t *block = in + b * kBlockLen;
    uint8_t padded[kBlockLen];
    if (b + 1 == nblocks) {
      flags |= CHUNK_END | (root ? ROOT : 0);
      std::memset(padded, 0, kBlockLen);
      if (block_len) std::memcpy(padded, block, block_len);
      block = padded;
    }
    // The root output block uses counter 0; a lone chunk is chunk 0, so they agree.
    compress_portable(cv, block, static_cast<uint8_t>(block_len), chunk_counter, flags);
  }
  words_to_bytes(cv, out);
}

void parent_cv(const uint8_t children[2 * kOutLen], bool root, uint8_t out[kOutLen]) {
  uint32_t cv[8];
  std::memcpy(cv, kIV, sizeof(cv));
  compress_portable(cv, children, kBlockLen, 0, PARENT | (root ? ROOT : 0));
  words_to_bytes(cv, out);
}

// CV (or root hash) of a left-balanced subtree of 1..kSubtreeLen bytes starting at chunk
// `chunk_counter`.
void subtree(const uint8_t *in, size_t len, uint64_t chunk_counter, bool root,
             uint8_t out[kOutLen]) {
  if (len <= kChunkLen) {
    chunk_cv(in, len, chunk_counter, root, out);
    return;
  }
  alignas(64) uint8_t cvs[kMaxSubtreeChunks * kOutLen];
  const uint8_t *ptrs[kMaxSubtreeChunks];
  const size_t full = len / kChunkLen;
  const size_t tail = len % kChunkLen;
  // A chunk that is not last in the input is always full; when the input ends on a chunk
  // boundary the last chunk is full too and goes wide with the rest.
  size_t count = full;
  const LaneCore *wide = tail == 0 ? wide_core() : nullptr;
  if (wide && full >= 2 * wide->lanes && (full & (full - 1)) == 0) {
    // A perfect tree of two or more CV sets stays transposed until one set is left.
    const size_t lanes = wide->lanes, set_words = 8 * lanes;
    alignas(64) uint32_t sets[kMaxSubtreeChunks * 8];
    size_t n = full / lanes;
    for (size_t s = 0; s < n; s++)
      wide->chunks(in + s * lanes * kChunkLen, chunk_counter + s * lanes, sets + s * set_words);
    for (; n > 1; n /= 2)
      for (size_t s = 0; s < n / 2; s++)
        wide->parents(sets + 2 * s * set_words, sets + (2 * s + 1) * set_words,
                      sets + s * set_words);
    for (size_t j = 0; j < lanes; j++)
      for (int i = 0; i < 8; i++) store_le32(cvs + j * kOutLen + 4 * i, sets[i * lanes + j]);
    count = lanes;
  } else {
    for (size_t i = 0; i < full; i++) ptrs[i] = in + i * kChunkLen;
    hash_many(ptrs, full, kBlocksPerChunk, kIV, chunk_counter, true, 0, CHUNK_START, CHUNK_END,
              cvs);
  }
  if (tail) {
    chunk_cv(in + full * kChunkLen, tail, chunk_counter + full, false, cvs + full * kOutLen);
    count++;
  }
  // Reduce level by level; an odd CV out carries up unchanged. The level above is written
  // over the front of the array, which is safe because a pair is read before its parent is
  // written and parents land at or before the pairs they came from.
  while (count > 2) {
    const size_t pairs = count / 2;
    for (size_t i = 0; i < pairs; i++) ptrs[i] = cvs + i * 2 * kOutLen;
    alignas(64) uint8_t next[kMaxSubtreeChunks / 2 * kOutLen];
    hash_many(ptrs, pairs, 1, kIV, 0, false, PARENT, 0, 0, next);
    std::memcpy(cvs, next, pairs * kOutLen);
    if (count & 1) std::memmove(cvs + pairs * kOutLen, cvs + (count - 1) * kOutLen, kOutLen);
    count = pairs + (count & 1);
  }
  parent_cv(cvs, root, out);
}

}  // namespace

// A stack of complete subtree CVs, in order, as the reference tree shape needs.
struct CvStack {
  uint8_t cvs[64][kOutLen];
  size_t len = 0;
  uint64_t subtrees = 0;

  // Merge until the stack holds one CV per set bit of `target` subtrees.
  void merge_to(uint64_t target) {
    while (len > static_cast<size_t>(__builtin_popcountll(target))) {
      uint8_t children[2 * kOutLen];
      std::memcpy(children, cvs[len - 2], kOutLen);
      std::memcpy(children + kOutLen, cvs[len - 1], kOutLen);
      parent_cv(children, false, cvs[len - 2]);
      len--;
    }
  }

  void push_subtree(const uint8_t *in) {
    merge_to(subtrees);
    subtree(in, Hasher::kSubtreeLen, subtrees * kMaxSubtreeChunks, false, cvs[len++]);
    subtrees++;
  }

  // The last (possibly short, never empty unless nothing came before) subtree, then the
  // stack folded from the top; only the final parent is the root.
  void finish(const uint8_t *tail, size_t tail_len, uint8_t out[kOutLen]) const {
    if (subtrees == 0) {
      subtree(tail, tail_len, 0, true, out);
      return;
    }
    CvStack s = *this;
    s.merge_to(subtrees);
    uint8_t cv[kOutLen];
    subtree(tail, tail_len, subtrees * kMaxSubtreeChunks, false, cv);
    for (size_t i = s.len; i-- > 0;) {
      uint8_t children[2 * kOutLen];
      std::memcpy(children, s.cvs[i], kOutLen);
      std::memcpy(children + kOutLen, cv, kOutLen);
      parent_cv(children, i == 0, cv);
    }
    std::memcpy(out, cv, kOutLen);
  }
};

void hash(const uint8_t *input, size_t len, uint8_t out[kOutLen]) {
  CvStack stack;
  // Whole subtrees straight from the input while more input follows them.
  while (len > Hasher::kSubtreeLen) {
    stack.push_subtree(input);
    input += Hasher::kSubtreeLen;
    len -= Hasher::kSubtreeLen;
  }
  stack.finish(input, len, out);
}

Hasher::Hasher() : buf_(nullptr), buf_len_(0), stack_(new CvStack()) {}
Hasher::~Hasher() {
  std::free(buf_);
  delete stack_;
}

void Hasher::reset() {
  buf_len_ = 0;
  *stack_ = CvStack();
}

void Hasher::update(const uint8_t *input, size_t len) {
  while (len > 0) {
    if (buf_len_ == kSubtreeLen) {  // full, and more input is here: it is not the last
      stack_->push_subtree(buf_);
      buf_len_ = 0;
    }
    if (buf_len_ == 0 && len > kSubtreeLen) {
      stack_->push_subtree(input);
      input += kSubtreeLen;
      len -= kSubtreeLen;
      continue;
    }
    if (!buf_) {
      buf_ = static_cast<uint8_t *>(std::malloc(kSubtreeLen));
      if (!buf_) throw std::bad_alloc();
    }
    const size_t take = std::min(len, kSubtreeLen - buf_len_);
    std::memcpy(buf_ + buf_len_, input, take);
    buf_len_ += take;
    input += take;
    len -= take;
  }
}

void Hasher::finalize(uint8_t out[kOutLen]) const { stack_->finish(buf_, buf_len_, out); }

}  // namespace blake3
}  // namespace peerlink
