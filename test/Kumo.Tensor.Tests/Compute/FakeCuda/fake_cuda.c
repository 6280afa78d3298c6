/*
 * A stand-in for libcuda.so.1 and libcublas.so.12, built by the tests on machines without an NVIDIA GPU. It has the
 * C ABI of the real libraries (the entry points, argument order and error codes of the CUDA driver API and cuBLAS v2,
 * as NVIDIA documents them) and does the work on the CPU: "device memory" is host memory, and SGEMM is the reference
 * column-major product. It checks Kumo's binding (calling convention, the row-major trick, copies, error paths), not a
 * GPU. fake_cuda_fail() injects a fault into the next call of one entry point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { DEVICES = 2 };
static const char *names[DEVICES] = { "Fake GPU 0", "Fake GPU 1" };
static int initialised;
static char fail_entry[64];
static int fail_code;

/* The next call of `entry` returns `code` instead of working. */
void fake_cuda_fail(const char *entry, int code) {
    strncpy(fail_entry, entry, sizeof fail_entry - 1);
    fail_code = code;
}

static int injected(const char *entry) {
    if (fail_entry[0] != 0 && strcmp(fail_entry, entry) == 0) {
        fail_entry[0] = 0;
        return fail_code;
    }
    return 0;
}

#define FAULT(entry) do { int f = injected(entry); if (f) return f; } while (0)

int cuInit(unsigned flags) { FAULT("cuInit"); (void)flags; initialised = 1; return 0; }
int cuDriverGetVersion(int *version) { *version = 12040; return 0; }
int cuDeviceGetCount(int *count) { if (!initialised) return 3; *count = DEVICES; return 0; }
int cuDeviceGet(int *device, int ordinal) { if (ordinal < 0 || ordinal >= DEVICES) return 101; *device = ordinal; return 0; }
int cuDeviceGetName(char *name, int len, int device) { strncpy(name, names[device], (size_t)len); name[len - 1] = 0; return 0; }
int cuDeviceGetUuid_v2(unsigned char *uuid, int device) {
    for (int i = 0; i < 16; i++) uuid[i] = (unsigned char)(0x10 * device + i);
    return 0;
}
int cuDeviceTotalMem_v2(size_t *bytes, int device) { *bytes = (size_t)(device + 1) << 30; return 0; }
int cuDevicePrimaryCtxRetain(void **context, int device) { *context = (void *)(intptr_t)(0x1000 + device); return 0; }
int cuDevicePrimaryCtxRelease_v2(int device) { (void)device; return 0; }
int cuCtxSetCurrent(void *context) { (void)context; return 0; }
int cuCtxSynchronize(void) { return 0; }
int cuMemAlloc_v2(unsigned long long *pointer, size_t bytes) {
    FAULT("cuMemAlloc_v2");
    void *p = malloc(bytes);
    if (!p) return 2;
    *pointer = (unsigned long long)(uintptr_t)p;
    return 0;
}
int cuMemFree_v2(unsigned long long pointer) { free((void *)(uintptr_t)pointer); return 0; }
int cuMemcpyHtoD_v2(unsigned long long dst, const void *src, size_t bytes) { memcpy((void *)(uintptr_t)dst, src, bytes); return 0; }
int cuMemcpyDtoH_v2(void *dst, unsigned long long src, size_t bytes) { memcpy(dst, (const void *)(uintptr_t)src, bytes); return 0; }
int cuGetErrorName(int status, const char **name) {
    switch (status) {
    case 2: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
    case 3: *name = "CUDA_ERROR_NOT_INITIALIZED"; return 0;
    case 100: *name = "CUDA_ERROR_NO_DEVICE"; return 0;
    case 101: *name = "CUDA_ERROR_INVALID_DEVICE"; return 0;
    default: return 1;
    }
}

int cublasCreate_v2(void **handle) { FAULT("cublasCreate_v2"); *handle = malloc(1); return 0; }
int cublasDestroy_v2(void *handle) { free(handle); return 0; }

/* C = alpha·op(A)·op(B) + beta·C, column-major, op = identity only (what Kumo asks for). */
int cublasSgemm_v2(void *handle, int transa, int transb, int m, int n, int k, const float *alpha,
                   const float *a, int lda, const float *b, int ldb, const float *beta, float *c, int ldc) {
    FAULT("cublasSgemm_v2");
    if (!handle || transa != 0 || transb != 0 || lda < m || ldb < k || ldc < m) return 7;
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
            float sum = 0;
            for (int p = 0; p < k; p++) sum += a[i + (size_t)p * lda] * b[p + (size_t)j * ldb];
            c[i + (size_t)j * ldc] = *alpha * sum + (*beta == 0 ? 0 : *beta * c[i + (size_t)j * ldc]);
        }
    }
    return 0;
}
