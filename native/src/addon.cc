// Node-API surface of the native core. Thin wrappers: argument policy (sizes, limits,
// types with clear messages) lives in src/hash/ on the JS side; here we only refuse what
// would be unsafe to touch.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "aead.h"
#include "blake3_impl.h"
#include "core_level.h"
#include "gf256.h"
#include "socket.h"
#include "x25519.h"

namespace {

namespace aead = peerlink::aead;
namespace b3 = peerlink::blake3;

struct Span {
  const uint8_t *data;
  size_t len;
};

bool to_span(const Napi::Value &v, Span *out) {
  if (!v.IsTypedArray()) return false;
  auto ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  auto u8 = v.As<Napi::Uint8Array>();
  out->data = u8.Data();  // already offset into the underlying ArrayBuffer
  out->len = u8.ByteLength();
  return true;
}

Span require_span(const Napi::CallbackInfo &info, size_t i, const char *what) {
  Span s{nullptr, 0};
  if (info.Length() <= i || !to_span(info[i], &s))
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Uint8Array or Buffer");
  return s;
}

unsigned hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

Napi::Value Hash(const Napi::CallbackInfo &info) {
  Span s = require_span(info, 0, "data");
  auto out = Napi::Buffer<uint8_t>::New(info.Env(), b3::kOutLen);
  b3::hash(s.data, s.len, out.Data());
  return out;
}

// Hashes (and optionally checks) a list of blocks off the event loop. The blocks are read
// in place: the worker keeps the JS array they came in alive until it is done.
class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Env env, Napi::Array blocks, std::vector<Span> spans, const uint8_t *expected,
              Napi::Value expected_value, unsigned threads)
      : Napi::AsyncWorker(env, "peerlink:blake3-batch"),
        deferred_(Napi::Promise::Deferred::New(env)),
        spans_(std::move(spans)),
        expected_(expected),
        threads_(threads),
        digests_(spans_.size() * b3::kOutLen),
        matches_(expected ? spans_.size() : 0) {
    blocks_ref_ = Napi::Persistent(blocks.As<Napi::Object>());
    if (expected) expected_ref_ = Napi::Persistent(expected_value.As<Napi::Object>());
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::atomic<size_t> next{0};
    auto work = [this, &next]() {
      for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < spans_.size();) {
        uint8_t *digest = digests_.data() + i * b3::kOutLen;
        b3::hash(spans_[i].data, spans_[i].len, digest);
        if (expected_)
          matches_[i] = std::memcmp(digest, expected_ + i * b3::kOutLen, b3::kOutLen) == 0;
      }
    };
    const unsigned n = std::min<size_t>(threads_, spans_.size());
    std::vector<std::thread> helpers;
    for (unsigned t = 1; t < n; t++) helpers.emplace_back(work);
    work();  // this pool thread is one of the workers
    for (auto &h : helpers) h.join();
  }

  void OnOK() override {
    Napi::Env env = Env();
    auto digests = Napi::Buffer<uint8_t>::Copy(env, digests_.data(), digests_.size());
    if (!expected_) {
      deferred_.Resolve(digests);
      return;
    }
    auto result = Napi::Object::New(env);
    auto ok = Napi::Array::New(env, matches_.size());
    for (size_t i = 0; i < matches_.size(); i++) ok.Set(i, Napi::Boolean::New(env, matches_[i]));
    result.Set("digests", digests);
    result.Set("ok", ok);
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference blocks_ref_;
  Napi::ObjectReference expected_ref_;
  std::vector<Span> spans_;
  const uint8_t *expected_;
  unsigned threads_;
  std::vector<uint8_t> digests_;
  std::vector<uint8_t> matches_;
};

// batch(blocks: Uint8Array[], expected: Uint8Array | null, threads: number)
//   -> Promise<Buffer> (digests, 32 bytes each) when expected is null,
//   -> Promise<{ digests: Buffer, ok: boolean[] }> when expected holds 32 bytes a block.
Napi::Value Batch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray())
    throw Napi::TypeError::New(env, "blocks must be an array of Uint8Array");
  auto blocks = info[0].As<Napi::Array>();
  std::vector<Span> spans(blocks.Length());
  for (uint32_t i = 0; i < blocks.Length(); i++) {
    if (!to_span(blocks.Get(i), &spans[i]))
      throw Napi::TypeError::New(env, "block " + std::to_string(i) + " is not a Uint8Array");
  }
  const uint8_t *expected = nullptr;
  if (!info[1].IsNull() && !info[1].IsUndefined()) {
    Span e;
    if (!to_span(info[1], &e) || e.len != spans.size() * b3::kOutLen)
      throw Napi::TypeError::New(env, "expected digests must be 32 bytes per block");
    expected = e.data;
  }
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "threads must be a number");
  int64_t threads = info[2].As<Napi::Number>().Int64Value();
  threads = std::clamp<int64_t>(threads, 1, 64);
  auto *worker = new BatchWorker(env, blocks, std::move(spans), expected, info[1],
                                 static_cast<unsigned>(threads));
  auto promise = worker->Promise();
  worker->Queue();
  return promise;
}

class Hasher : public Napi::ObjectWrap<Hasher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Hasher",
                       {InstanceMethod("update", &Hasher::Update),
                        InstanceMethod("digest", &Hasher::Digest),
                        InstanceMethod("reset", &Hasher::Reset)});
  }
  explicit Hasher(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Hasher>(info) {}

 private:
  Napi::Value Update(const Napi::CallbackInfo &info) {
    Span s = require_span(info, 0, "data");
    state_.update(s.data, s.len);
    return info.This();
  }
  Napi::Value Digest(const Napi::CallbackInfo &info) {
    auto out = Napi::Buffer<uint8_t>::New(info.Env(), b3::kOutLen);
    state_.finalize(out.Data());
    return out;
  }
  Napi::Value Reset(const Napi::CallbackInfo &info) {
    state_.reset();
    return info.This();
  }
  b3::Hasher state_;
};

// The names of levels 0 .. last.
Napi::Array LevelNames(Napi::Env env, const peerlink::CoreLevel &level, int last) {
  auto names = Napi::Array::New(env);
  for (int l = 0; l <= last; l++) names.Set(names.Length(), level.name(l));
  return names;
}

// { active, detected, available, compiled }: a core level's state, for simdInfo and gfInfo.
Napi::Object LevelInfo(Napi::Env env, const peerlink::CoreLevel &level) {
  auto o = Napi::Object::New(env);
  o.Set("active", level.name(level.active()));
  o.Set("detected", level.name(level.detected()));
  o.Set("available", LevelNames(env, level, level.detected()));
  o.Set("compiled", LevelNames(env, level, level.compiled() - 1));
  return o;
}

// (name) -> boolean: false when this CPU or build lacks the level; throws on an unknown name.
Napi::Value SetLevel(const Napi::CallbackInfo &info, peerlink::CoreLevel &level, const char *what) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "level must be a string");
  std::string name = info[0].As<Napi::String>();
  const int l = level.parse(name.c_str());
  if (l < 0) throw Napi::TypeError::New(env, std::string("unknown ") + what + " level: " + name);
  return Napi::Boolean::New(env, level.set(l));
}

Napi::Value SimdInfo(const Napi::CallbackInfo &info) {
  auto o = LevelInfo(info.Env(), b3::simd_level());
  o.Set("threads", hardware_threads());
  return o;
}

Napi::Value SetSimd(const Napi::CallbackInfo &info) { return SetLevel(info, b3::simd_level(), "SIMD"); }

// ---- GF(2^8) dot products for Reed-Solomon ----

namespace gf = peerlink::gf256;

struct DotArgs {
  std::vector<uint8_t> coefs;
  size_t rows = 0, cols = 0, len = 0;
  std::vector<const uint8_t *> in;
  std::vector<uint8_t *> out;
};

// (coefs: Uint8Array rows*cols, inputs: Uint8Array[cols], outputs: Uint8Array[rows]),
// every shard the same length; outputs must not overlap inputs.
DotArgs parse_dot(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsArray() || !info[2].IsArray())
    throw Napi::TypeError::New(env, "gfDot(coefs, inputs[], outputs[])");
  Span coefs = require_span(info, 0, "coefs");
  auto inputs = info[1].As<Napi::Array>();
  auto outputs = info[2].As<Napi::Array>();
  DotArgs a;
  a.cols = inputs.Length();
  a.rows = outputs.Length();
  if (a.rows == 0 || a.cols == 0 || a.rows > 255 || a.cols > 255 || coefs.len != a.rows * a.cols)
    throw Napi::RangeError::New(env, "coefs must hold rows*cols bytes for 1..255 rows and columns");
  a.coefs.assign(coefs.data, coefs.data + coefs.len);
  bool first = true;
  auto take = [&](Napi::Value v, const char *what) {
    Span s;
    if (!to_span(v, &s)) throw Napi::TypeError::New(env, std::string(what) + " must be Uint8Arrays");
    if (first) a.len = s.len, first = false;
    else if (s.len != a.len) throw Napi::RangeError::New(env, "every shard must have the same length");
    return s;
  };
  for (uint32_t i = 0; i < a.cols; i++) a.in.push_back(take(inputs.Get(i), "inputs").data);
  for (uint32_t i = 0; i < a.rows; i++) a.out.push_back(const_cast<uint8_t *>(take(outputs.Get(i), "outputs").data));
  return a;
}

// Splits the shard length across threads on 64-byte boundaries.
void run_dot(const DotArgs &a, unsigned threads) {
  const size_t parts = std::max<size_t>(1, std::min<size_t>(threads, a.len / (64 * 1024)));
  if (parts == 1) {
    gf::dot(a.coefs.data(), a.rows, a.cols, a.in.data(), a.out.data(), 0, a.len);
    return;
  }
  const size_t step = (a.len / parts + 63) / 64 * 64;
  std::vector<std::thread> helpers;
  for (size_t p = 1; p < parts; p++) {
    const size_t b = std::min(a.len, p * step), e = std::min(a.len, (p + 1) * step);
    helpers.emplace_back([&a, b, e] { gf::dot(a.coefs.data(), a.rows, a.cols, a.in.data(), a.out.data(), b, e); });
  }
  gf::dot(a.coefs.data(), a.rows, a.cols, a.in.data(), a.out.data(), 0, std::min(a.len, step));
  for (auto &h : helpers) h.join();
}

Napi::Value GfDotSync(const Napi::CallbackInfo &info) {
  DotArgs a = parse_dot(info);
  run_dot(a, 1);
  return info.Env().Undefined();
}

class DotWorker : public Napi::AsyncWorker {
 public:
  DotWorker(Napi::Env env, DotArgs args, Napi::Value keep, unsigned threads)
      : Napi::AsyncWorker(env, "peerlink:gf-dot"), deferred_(Napi::Promise::Deferred::New(env)),
        args_(std::move(args)), threads_(threads) {
    keep_ = Napi::Persistent(keep.As<Napi::Object>());
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { run_dot(args_, threads_); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  DotArgs args_;
  unsigned threads_;
  Napi::ObjectReference keep_;  // the shards, alive until the work is done
};

// gfDot(coefs, inputs, outputs, threads) -> Promise<void>, off the event loop.
Napi::Value GfDot(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  DotArgs a = parse_dot(info);
  const int64_t threads = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : 1;
  auto keep = Napi::Array::New(env, 2);
  keep.Set(0u, info[1]);
  keep.Set(1u, info[2]);
  auto *w = new DotWorker(env, std::move(a), keep, static_cast<unsigned>(std::clamp<int64_t>(threads, 1, 64)));
  auto p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value GfInfo(const Napi::CallbackInfo &info) { return LevelInfo(info.Env(), gf::level()); }

Napi::Value GfSetLevel(const Napi::CallbackInfo &info) { return SetLevel(info, gf::level(), "GF"); }

// ChaCha20-Poly1305 for the Noise transport, AES-256-GCM for private files (aead.h). Sizes
// are checked here because a wrong one would read or write past a buffer.
Span require_len(const Napi::CallbackInfo &info, size_t i, const char *what, size_t len) {
  Span s = require_span(info, i, what);
  if (s.len != len)
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be " + std::to_string(len) + " bytes");
  return s;
}

constexpr size_t kMaxAeadLen = 1u << 30;

Span require_ad(const Napi::CallbackInfo &info, size_t i) {
  Span ad = require_span(info, i, "ad");
  if (ad.len > kMaxAeadLen) throw Napi::RangeError::New(info.Env(), "ad too large");
  return ad;
}

// The arguments both calls start with: key, nonce, associated data, the message's pieces.
struct AeadArgs {
  Span key, nonce, ad;
  std::vector<aead::Piece> pieces;
  size_t total = 0;
};

AeadArgs require_aead_args(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  AeadArgs a{require_len(info, 0, "key", aead::kKeyLen), require_len(info, 1, "nonce", aead::kNonceLen),
             require_ad(info, 2), {}, 0};
  if (info.Length() <= 3 || !info[3].IsArray()) throw Napi::TypeError::New(env, "pieces must be an array");
  Napi::Array list = info[3].As<Napi::Array>();
  a.pieces.resize(list.Length());
  for (uint32_t k = 0; k < list.Length(); k++) {
    Span p{nullptr, 0};
    if (!to_span(list.Get(k), &p)) throw Napi::TypeError::New(env, "pieces must be Uint8Arrays");
    a.pieces[k] = {p.data, p.len};
    a.total += p.len;
  }
  if (a.total > kMaxAeadLen) throw Napi::RangeError::New(env, "message too large");
  return a;
}

// The cipher named by argument i: "chacha20-poly1305" (also when absent) or "aes-256-gcm".
aead::Cipher require_cipher(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return aead::Cipher::ChaCha20Poly1305;
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), "cipher must be a string");
  const std::string name = info[i].As<Napi::String>().Utf8Value();
  if (name == "chacha20-poly1305") return aead::Cipher::ChaCha20Poly1305;
  if (name == "aes-256-gcm") return aead::Cipher::Aes256Gcm;
  throw Napi::TypeError::New(info.Env(), "cipher must be chacha20-poly1305 or aes-256-gcm");
}

const char *cipher_name(aead::Cipher c) {
  return c == aead::Cipher::Aes256Gcm ? "AES-256-GCM" : "ChaCha20-Poly1305";
}

// dst must be the one piece's own memory (in place) or not overlap the pieces at all.
void require_apart(Napi::Env env, const AeadArgs &a, const Span &dst) {
  for (const aead::Piece &p : a.pieces) {
    const bool same = a.pieces.size() == 1 && p.data == dst.data;
    if (!same && p.len > 0 && dst.data < p.data + p.len && p.data < dst.data + dst.len)
      throw Napi::RangeError::New(env, "dst must be the message itself or not overlap it");
  }
}

// aeadSeal(key, nonce, ad, pieces[], cipher?, dst?) -> the pieces' ciphertext, then the tag:
// a new Buffer, or dst (as long as the pieces and the tag) which may be the one piece's memory.
Napi::Value AeadSeal(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  AeadArgs a = require_aead_args(info);
  const aead::Cipher cipher = require_cipher(info, 4);
  Napi::Value result;
  Span dst{nullptr, 0};
  if (info.Length() > 5 && !info[5].IsUndefined()) {
    dst = require_span(info, 5, "dst");
    if (dst.len != a.total + aead::kTagLen)
      throw Napi::RangeError::New(env, "dst must be as long as the message and its tag");
    require_apart(env, a, dst);
    result = info[5];
  } else {
    auto out = Napi::Buffer<uint8_t>::New(env, a.total + aead::kTagLen);
    dst = {out.Data(), out.Length()};
    result = out;
  }
  if (aead::seal(cipher, a.key.data, a.nonce.data, a.ad.data, a.ad.len, a.pieces.data(), a.pieces.size(),
                 const_cast<uint8_t *>(dst.data)) != aead::Result::Ok)
    throw Napi::Error::New(env, std::string(cipher_name(cipher)) + " encryption failed");
  return result;
}

// aeadOpen(key, nonce, ad, pieces[], tag, dst, cipher?) -> boolean: decrypts the pieces into dst,
// which may be the one piece itself, or with dst null each piece over itself; false when the
// tag does not match.
Napi::Value AeadOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  AeadArgs a = require_aead_args(info);
  Span tag = require_len(info, 4, "tag", aead::kTagLen);
  const bool in_place = info.Length() > 5 && info[5].IsNull();
  Span dst = in_place ? Span{nullptr, 0} : require_span(info, 5, "dst");
  const aead::Cipher cipher = require_cipher(info, 6);
  if (!in_place) {
    if (dst.len != a.total) throw Napi::RangeError::New(env, "dst must be as long as the ciphertext");
    require_apart(env, a, dst);
  }
  const aead::Result r = aead::open(cipher, a.key.data, a.nonce.data, a.ad.data, a.ad.len, a.pieces.data(),
                                    a.pieces.size(), tag.data, const_cast<uint8_t *>(dst.data));
  if (r == aead::Result::Failed)
    throw Napi::Error::New(env, std::string(cipher_name(cipher)) + " decryption failed");
  return Napi::Boolean::New(env, r == aead::Result::Ok);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("aeadSeal", Napi::Function::New(env, AeadSeal, "aeadSeal"));
  exports.Set("aeadOpen", Napi::Function::New(env, AeadOpen, "aeadOpen"));
  exports.Set("gfDot", Napi::Function::New(env, GfDot, "gfDot"));
  exports.Set("gfDotSync", Napi::Function::New(env, GfDotSync, "gfDotSync"));
  exports.Set("gfInfo", Napi::Function::New(env, GfInfo, "gfInfo"));
  exports.Set("gfSetLevel", Napi::Function::New(env, GfSetLevel, "gfSetLevel"));
  exports.Set("hash", Napi::Function::New(env, Hash, "hash"));
  exports.Set("batch", Napi::Function::New(env, Batch, "batch"));
  exports.Set("Hasher", Hasher::Define(env));
  exports.Set("simdInfo", Napi::Function::New(env, SimdInfo, "simdInfo"));
  exports.Set("setSimd", Napi::Function::New(env, SetSimd, "setSimd"));
  RegisterSocket(env, exports);
  RegisterX25519(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(peerlink_native, Init)
