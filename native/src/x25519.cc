// X25519 (RFC 7748) for Noise's handshake, through the OpenSSL that Node is built with, on raw
// 32-byte keys. Noise's default crypto goes through Node's KeyObjects, wrapping each raw key in
// DER and parsing it back for every agreement: about 470 us an agreement on the development
// machine against about 30 us for the derivation itself, and a handshake makes three at each
// end. The derivation is OpenSSL's either way, so are its checks: an agreement whose result is
// all zeros (the peer sent a low-order point) fails, as it does through Node.
#include "x25519.h"

#include <openssl/evp.h>

#include <memory>

namespace {

constexpr size_t kKeyLen = 32;

struct PkeyFree {
  void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX *c) const { EVP_PKEY_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

const uint8_t *require_key(const Napi::CallbackInfo &info, size_t i, const char *name) {
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Uint8Array");
  auto a = info[i].As<Napi::Uint8Array>();
  if (a.ByteLength() != kKeyLen) throw Napi::RangeError::New(info.Env(), std::string(name) + " must be 32 bytes");
  return a.Data();
}

// Writes the public key of `priv` (32 bytes) to out; false when OpenSSL refused.
bool public_of(const uint8_t *priv, uint8_t *out) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv, kKeyLen));
  size_t len = kKeyLen;
  return key && EVP_PKEY_get_raw_public_key(key.get(), out, &len) == 1 && len == kKeyLen;
}

// x25519Keypair(seed?) -> { publicKey, privateKey }: a fresh private key from OpenSSL's random
// generator, or the given 32-byte one (Noise's keypair from a seed), with its public key.
Napi::Value Keypair(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto priv = Napi::Buffer<uint8_t>::New(env, kKeyLen);
  auto pub = Napi::Buffer<uint8_t>::New(env, kKeyLen);
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    const uint8_t *seed = require_key(info, 0, "seed");
    std::copy(seed, seed + kKeyLen, priv.Data());
  } else {
    PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
    EVP_PKEY *raw = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1)
      throw Napi::Error::New(env, "X25519 key generation failed");
    Pkey key(raw);
    size_t len = kKeyLen;
    if (EVP_PKEY_get_raw_private_key(key.get(), priv.Data(), &len) != 1 || len != kKeyLen)
      throw Napi::Error::New(env, "X25519 key generation failed");
  }
  if (!public_of(priv.Data(), pub.Data())) throw Napi::Error::New(env, "X25519 public key derivation failed");
  Napi::Object pair = Napi::Object::New(env);
  pair.Set("publicKey", pub);
  pair.Set("privateKey", priv);
  return pair;
}

// x25519Shared(privateKey, publicKey) -> the 32-byte shared secret; throws when OpenSSL refuses
// the agreement (a low-order public key gives all zeros, which it refuses).
Napi::Value Shared(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const uint8_t *priv = require_key(info, 0, "privateKey");
  const uint8_t *peer = require_key(info, 1, "publicKey");
  Pkey own(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv, kKeyLen));
  Pkey theirs(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer, kKeyLen));
  if (!own || !theirs) throw Napi::Error::New(env, "X25519 key import failed");
  PkeyCtx ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  auto out = Napi::Buffer<uint8_t>::New(env, kKeyLen);
  size_t len = kKeyLen;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), out.Data(), &len) != 1 || len != kKeyLen)
    throw Napi::Error::New(env, "X25519 key agreement failed");
  return out;
}

}  // namespace

void RegisterX25519(Napi::Env env, Napi::Object exports) {
  exports.Set("x25519Keypair", Napi::Function::New(env, Keypair, "x25519Keypair"));
  exports.Set("x25519Shared", Napi::Function::New(env, Shared, "x25519Shared"));
}
