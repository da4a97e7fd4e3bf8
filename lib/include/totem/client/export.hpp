// TOTEM_CLIENT_API marks what libtotem exports; everything else in the shared library is
// hidden (it is built with -fvisibility=hidden).
#pragma once

#if defined(__GNUC__)
#define TOTEM_CLIENT_API __attribute__((visibility("default")))
#else
#define TOTEM_CLIENT_API
#endif
