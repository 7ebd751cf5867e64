// AEAD through Node's OpenSSL with in-place opening (aead.cc): ChaCha20-Poly1305 (RFC 8439) for
// the Noise transport, AES-256-GCM for private files.
#ifndef PEERLINK_AEAD_H
#define PEERLINK_AEAD_H

#include <cstddef>
#include <cstdint>

namespace peerlink {
namespace aead {

constexpr size_t kKeyLen = 32;
constexpr size_t kNonceLen = 12;
constexpr size_t kTagLen = 16;

enum class Result { Ok, BadTag, Failed };

enum class Cipher { ChaCha20Poly1305, Aes256Gcm };

struct Piece {
  const uint8_t *data;
  size_t len;
};

// Encrypts the concatenated pieces into out, followed by the 16-byte tag (out holds their
// total length + kTagLen). out may start at a single piece's own memory (sealing in place)
// but must not otherwise overlap them.
Result seal(Cipher cipher, const uint8_t key[kKeyLen], const uint8_t nonce[kNonceLen], const uint8_t *ad,
            size_t ad_len, const Piece *pieces, size_t count, uint8_t *out);

// Decrypts the concatenated pieces to out and checks the tag. out may be the memory of a
// single piece itself (opening in place) but must not otherwise overlap them; with out null
// each piece is opened over itself (a message that came in several pieces, opened without
// joining them). On BadTag the output holds unauthenticated bytes the caller must discard.
Result open(Cipher cipher, const uint8_t key[kKeyLen], const uint8_t nonce[kNonceLen], const uint8_t *ad,
            size_t ad_len, const Piece *pieces, size_t count, const uint8_t tag[kTagLen],
            uint8_t *out);

}  // namespace aead
}  // namespace peerlink

#endif
