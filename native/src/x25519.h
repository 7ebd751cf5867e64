#pragma once
#include <napi.h>

// x25519Keypair and x25519Shared (x25519.cc): Noise's key agreement on raw 32-byte keys.
void RegisterX25519(Napi::Env env, Napi::Object exports);
