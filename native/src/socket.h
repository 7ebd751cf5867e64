#pragma once
#include <napi.h>

// bindShared and shareBound (socket.cc): TCP sockets that share a port with SO_REUSEPORT.
void RegisterSocket(Napi::Env env, Napi::Object exports);
