// Sockets that share a port: what TCP hole punching needs and Node 20's `net` cannot make. A
// punched connection must leave from the port the node listens on (the port its NAT maps and
// peers observe), so the listening socket and every such outgoing one carry SO_REUSEPORT.
// Node adopts the descriptors: `new net.Socket({ fd })` then `connect`.
#include "socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace {

Napi::Error ErrnoError(Napi::Env env, const char *what, int err) {
  Napi::Error e = Napi::Error::New(env, std::string(what) + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

#ifdef SO_REUSEPORT
int SetShared(int fd) {
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) return errno;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) return errno;
  return 0;
}
#endif

// (ip, port) → a non-blocking TCP socket bound to ip:port beside the sockets there already
// that share it; the caller owns the descriptor.
Napi::Value BindShared(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "bindShared(ip: string, port: number)");
#ifndef SO_REUSEPORT
  throw Napi::Error::New(env, "SO_REUSEPORT is not available on this platform");
#else
  const std::string ip = info[0].As<Napi::String>().Utf8Value();
  const int64_t port = info[1].As<Napi::Number>().Int64Value();
  if (port < 1 || port > 65535) throw Napi::RangeError::New(env, "port must be 1-65535");
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
  auto *v4 = reinterpret_cast<sockaddr_in *>(&addr);
  auto *v6 = reinterpret_cast<sockaddr_in6 *>(&addr);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    throw Napi::TypeError::New(env, "not an IP address: " + ip);
  }
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(env, "socket", errno);
  int err = SetShared(fd);
  if (err == 0 && family == AF_INET6) {
    const int on = 1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) err = errno;
  }
  if (err == 0 && bind(fd, reinterpret_cast<sockaddr *>(&addr), len) != 0) err = errno;
  if (err != 0) {
    close(fd);
    throw ErrnoError(env, "bind", err);
  }
  return Napi::Number::New(env, fd);
#endif
}

// (fd) → lets later sockets bind the port of an already bound (listening) socket.
Napi::Value ShareBound(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "shareBound(fd: number)");
#ifndef SO_REUSEPORT
  throw Napi::Error::New(env, "SO_REUSEPORT is not available on this platform");
#else
  const int fd = info[0].As<Napi::Number>().Int32Value();
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) throw ErrnoError(env, "getsockopt", errno);
  if (type != SOCK_STREAM) throw Napi::TypeError::New(env, "not a TCP socket");
  const int err = SetShared(fd);
  if (err != 0) throw ErrnoError(env, "setsockopt", err);
  return env.Undefined();
#endif
}

}  // namespace

void RegisterSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("bindShared", Napi::Function::New(env, BindShared, "bindShared"));
  exports.Set("shareBound", Napi::Function::New(env, ShareBound, "shareBound"));
}
