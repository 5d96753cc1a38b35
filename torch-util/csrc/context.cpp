// The two switches of ATen's global context that nnlab's portable numerics
// needs and that tch does not expose: oneDNN (mkldnn) on or off for
// convolutions, and the CPU capability that ATen's kernels dispatch to.
#include <ATen/Context.h>
#include <ATen/Version.h>

#include <cstring>
#include <string>

extern "C" void nnlab_set_mkldnn_enabled(bool enabled) {
    at::globalContext().setUserEnabledMkldnn(enabled);
}

// Writes ATen's CPU capability ("DEFAULT", "AVX2", "AVX512", ...) into `buf`
// (NUL-terminated, truncated to `len`) and returns its full length.
extern "C" int nnlab_cpu_capability(char *buf, int len) {
    try {
        std::string c = at::get_cpu_capability();
        if (len > 0) {
            std::strncpy(buf, c.c_str(), static_cast<size_t>(len - 1));
            buf[len - 1] = '\0';
        }
        return static_cast<int>(c.size());
    } catch (...) {
        return -1;
    }
}
