{
  # The portable cores build everywhere. On x86 each SIMD core is also built, as its own static
  # library so that only its sources get its target flags, and the addon picks one at run time
  # (blake3_dispatch.cc, gf256_portable.cc). Elsewhere (arm64, ...) no x86 flag or source is
  # used. No -march=native anywhere: a build must run on any CPU of its architecture.
  # -O3 also comes from node-gyp's common.gypi; "cflags!" drops any -O2/-Os a toolchain adds.
  "target_defaults": {
    "cflags": ["-O3", "-fPIC", "-Wall", "-Wextra"],
    "cflags!": ["-O2", "-Os"],
    "cflags_cc": ["-O3", "-fPIC", "-std=gnu++17"],
    "cflags_cc!": ["-O2", "-Os"]
  },
  "targets": [
    {
      "target_name": "peerlink_native",
      "sources": [
        "src/addon.cc",
        "src/aead.cc",
        "src/blake3_dispatch.cc",
        "src/blake3_portable.cc",
        "src/blake3_tree.cc",
        "src/gf256_portable.cc",
        "src/cpu_features.cc",
        "src/core_level.cc",
        "src/socket.cc",
        "src/x25519.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lpthread"],
      "conditions": [
        ['target_arch=="x64" or target_arch=="ia32"', {
          "dependencies": [
            "peerlink_sse41", "peerlink_avx2", "peerlink_avx512",
            "peerlink_gf_ssse3", "peerlink_gf_avx2", "peerlink_gf_gfni"
          ]
        }]
      ]
    }
  ],
  "conditions": [
    ['target_arch=="x64" or target_arch=="ia32"', {
      "targets": [
        {
          "target_name": "peerlink_sse41",
          "type": "static_library",
          "sources": ["src/blake3_sse41.cc"],
          "cflags_cc": ["-msse4.1"]
        },
        {
          "target_name": "peerlink_avx2",
          "type": "static_library",
          "sources": ["src/blake3_avx2.cc"],
          "cflags_cc": ["-mavx2"]
        },
        {
          "target_name": "peerlink_avx512",
          "type": "static_library",
          "sources": ["src/blake3_avx512.cc"],
          # -mtune only schedules (no new instructions): about 4% on the 16-lane kernel here.
          # GCC 12 reports the deliberately undefined operand inside its own AVX-512 intrinsics
          # (_mm512_undefined_epi32) as uninitialized once they are inlined: a false positive.
          "cflags_cc": ["-mavx512f", "-mavx512vl", "-mtune=icelake-server", "-Wno-maybe-uninitialized",
                        "-Wno-uninitialized"]
        },
        {
          "target_name": "peerlink_gf_ssse3",
          "type": "static_library",
          "sources": ["src/gf256_ssse3.cc"],
          "cflags_cc": ["-mssse3"]
        },
        {
          "target_name": "peerlink_gf_avx2",
          "type": "static_library",
          "sources": ["src/gf256_avx2.cc"],
          "cflags_cc": ["-mavx2"]
        },
        {
          "target_name": "peerlink_gf_gfni",
          "type": "static_library",
          "sources": ["src/gf256_gfni.cc"],
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mgfni", "-Wno-maybe-uninitialized"]
        }
      ]
    }]
  ]
}
