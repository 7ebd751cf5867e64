// ChaCha20-Poly1305 (RFC 8439) for the Noise transport and AES-256-GCM for private files,
// through the OpenSSL that Node itself is built with and exports to addons. Node's own crypto
// API returns a fresh buffer from every update and final; here a frame is opened in place
// (the plaintext over the ciphertext it came in) and sealed into one buffer, so a gigabyte
// through a connection allocates about a gigabyte less, and V8 runs that many fewer
// collections for it.
#include "aead.h"

#include <openssl/evp.h>

#include <memory>

namespace peerlink {
namespace aead {

namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX *c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// A context keyed for one message; nullptr if OpenSSL refused (out of memory).
Ctx start(Cipher cipher, bool encrypt, const uint8_t key[kKeyLen], const uint8_t nonce[kNonceLen],
          const uint8_t *ad, size_t ad_len) {
  Ctx ctx(EVP_CIPHER_CTX_new());
  const EVP_CIPHER *kind = cipher == Cipher::Aes256Gcm ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
  int n = 0;
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), kind, nullptr, nullptr, nullptr, encrypt) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, kNonceLen, nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key, nonce, encrypt) != 1 ||
      (ad_len > 0 && EVP_CipherUpdate(ctx.get(), nullptr, &n, ad, static_cast<int>(ad_len)) != 1))
    return nullptr;
  return ctx;
}

// Runs the pieces through the cipher into out, or with out null each piece over itself; the
// bytes written, or -1 on failure. In place, each update must give back as many bytes as it
// took, which both ciphers here (stream modes) do.
long update_pieces(EVP_CIPHER_CTX *ctx, const Piece *pieces, size_t count, uint8_t *out) {
  size_t at = 0;
  for (size_t i = 0; i < count; i++) {
    int n = 0;
    if (pieces[i].len == 0) continue;
    uint8_t *to = out != nullptr ? out + at : const_cast<uint8_t *>(pieces[i].data);
    if (EVP_CipherUpdate(ctx, to, &n, pieces[i].data, static_cast<int>(pieces[i].len)) != 1) return -1;
    if (out == nullptr && static_cast<size_t>(n) != pieces[i].len) return -1;
    at += static_cast<size_t>(n);
  }
  return static_cast<long>(at);
}

}  // namespace

Result seal(Cipher cipher, const uint8_t key[kKeyLen], const uint8_t nonce[kNonceLen], const uint8_t *ad,
            size_t ad_len, const Piece *pieces, size_t count, uint8_t *out) {
  Ctx ctx = start(cipher, true, key, nonce, ad, ad_len);
  if (!ctx) return Result::Failed;
  const long written = update_pieces(ctx.get(), pieces, count, out);
  if (written < 0) return Result::Failed;
  size_t at = static_cast<size_t>(written);
  int n = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out + at, &n) != 1) return Result::Failed;
  at += static_cast<size_t>(n);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagLen, out + at) != 1)
    return Result::Failed;
  return Result::Ok;
}

Result open(Cipher cipher, const uint8_t key[kKeyLen], const uint8_t nonce[kNonceLen], const uint8_t *ad,
            size_t ad_len, const Piece *pieces, size_t count, const uint8_t tag[kTagLen],
            uint8_t *out) {
  Ctx ctx = start(cipher, false, key, nonce, ad, ad_len);
  if (!ctx) return Result::Failed;
  const long at = update_pieces(ctx.get(), pieces, count, out);
  if (at < 0) return Result::Failed;
  uint8_t t[kTagLen];
  for (size_t i = 0; i < kTagLen; i++) t[i] = tag[i];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagLen, t) != 1) return Result::Failed;
  int tail = 0;
  uint8_t none[kTagLen];  // a stream mode's final writes nothing; in place there is no out to give it
  return EVP_CipherFinal_ex(ctx.get(), out != nullptr ? out + at : none, &tail) == 1 ? Result::Ok : Result::BadTag;
}

}  // namespace aead
}  // namespace peerlink
