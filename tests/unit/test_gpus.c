/* test_gpus.c — gpus_probe against the fake CUDA runtime (build/tests/libcudart-fake.so,
 * loaded through the real dlopen/dlsym path), a missing library, a library that is
 * not a CUDA runtime, and each failure the runtime can report.
 * Run as `BUILD=build build/tests/test_gpus` (make does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/sys/gpus.h"

static const char *const fake_env[] = {
    "FAKE_CUDART_DEVICES", "FAKE_CUDART_ERROR", "FAKE_CUDART_FAIL", "FAKE_CUDART_ZERO_OK",
    "FAKE_CUDART_COUNT", "FAKE_CUDART_NAMES", "FAKE_CUDART_MEMORY_MIB", "FAKE_CUDART_CC",
    "FAKE_CUDART_PCI", "FAKE_CUDART_RUNTIME_VERSION", "FAKE_CUDART_DRIVER_VERSION",
    GPUS_CUDART_ENV, GPUS_LIBCUDA_ENV, "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
};

static char fake_path[4096], fake_driver[4096];

static int reset_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fake_env / sizeof fake_env[0]; i++)
        unsetenv(fake_env[i]);
    return 0;
}

/* Probe the fake library with the current environment. */
static int probe_fake(struct gpu_list *list, struct error *err)
{
    return gpus_probe(fake_path, list, err);
}

static void test_two_devices(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_DEVICES", "2", 1);
    setenv("FAKE_CUDART_NAMES", "NVIDIA H100 80GB HBM3;NVIDIA A10", 1);
    setenv("FAKE_CUDART_MEMORY_MIB", "81559;23028", 1);
    setenv("FAKE_CUDART_CC", "9.0;8.6", 1);
    setenv("FAKE_CUDART_PCI", "0000:65:00.0;0000:CA:00.0", 1);
    setenv("FAKE_CUDART_RUNTIME_VERSION", "12040", 1);
    setenv("FAKE_CUDART_DRIVER_VERSION", "12080", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_OK);
    assert_string_equal(err.text, "");
    assert_int_equal(list.n, 2);
    assert_int_equal(list.runtime_version, 12040);
    assert_int_equal(list.driver_version, 12080);
    assert_non_null(strstr(list.library, "libcudart-fake.so"));
    assert_int_equal(list.library[0], '/'); /* the resolved path, not the soname */

    assert_int_equal(list.devices[0].index, 0);
    assert_string_equal(list.devices[0].name, "NVIDIA H100 80GB HBM3");
    assert_int_equal(list.devices[0].memory_bytes, (size_t)81559 * 1024 * 1024);
    assert_int_equal(list.devices[0].cc_major, 9);
    assert_int_equal(list.devices[0].cc_minor, 0);
    assert_string_equal(list.devices[0].pci_bus_id, "0000:65:00.0");
    assert_string_equal(list.devices[0].uuid, "GPU-a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");

    assert_int_equal(list.devices[1].index, 1);
    assert_string_equal(list.devices[1].name, "NVIDIA A10");
    assert_int_equal(list.devices[1].memory_bytes, (size_t)23028 * 1024 * 1024);
    assert_int_equal(list.devices[1].cc_major, 8);
    assert_int_equal(list.devices[1].cc_minor, 6);
    assert_string_equal(list.devices[1].pci_bus_id, "0000:CA:00.0");
    gpu_list_free(&list);
    assert_null(list.devices);
    assert_int_equal(list.n, 0);
}

static void test_defaults_of_fake(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_DEVICES", "1", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_OK);
    assert_int_equal(list.n, 1);
    assert_string_equal(list.devices[0].name, "Fake GPU 0");
    assert_int_equal(list.devices[0].memory_bytes, (size_t)16384 * 1024 * 1024);
    assert_int_equal(list.devices[0].cc_major, 8);
    assert_string_equal(list.devices[0].pci_bus_id, "0000:10:00.0");
    assert_int_equal(list.runtime_version, 13000);
    gpu_list_free(&list);
}

static void test_env_override(void **state)
{
    (void)state;
    setenv(GPUS_CUDART_ENV, fake_path, 1);
    setenv("FAKE_CUDART_DEVICES", "3", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(gpus_probe(NULL, &list, &err), GPUS_OK);
    assert_int_equal(list.n, 3);
    assert_non_null(strstr(list.library, "libcudart-fake.so"));
    gpu_list_free(&list);
}

static void test_env_override_missing(void **state)
{
    (void)state;
    setenv(GPUS_CUDART_ENV, "/nonexistent/libcudart.so.13", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(gpus_probe(NULL, &list, &err), GPUS_NO_LIBRARY);
    assert_non_null(strstr(err.text, "SPARK_K8S_CUDART=/nonexistent/libcudart.so.13"));
    assert_non_null(strstr(err.text, "could not be loaded"));
    assert_null(list.devices);
    assert_int_equal(list.n, 0);
    assert_string_equal(list.library, "");
    gpu_list_free(&list);
}

static void test_argument_beats_env(void **state)
{
    (void)state;
    setenv(GPUS_CUDART_ENV, "/nonexistent/libcudart.so.13", 1);
    setenv("FAKE_CUDART_DEVICES", "1", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_OK);
    assert_int_equal(list.n, 1);
    gpu_list_free(&list);
}

static void test_missing_library(void **state)
{
    (void)state;
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(gpus_probe("/nonexistent/dir/libcudart.so.12", &list, &err), GPUS_NO_LIBRARY);
    assert_non_null(strstr(err.text, "/nonexistent/dir/libcudart.so.12"));
    assert_null(strstr(err.text, "SPARK_K8S_CUDART="));
    gpu_list_free(&list);
}

static void test_empty_override(void **state)
{
    (void)state;
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(gpus_probe("", &list, &err), GPUS_NO_LIBRARY);
    assert_non_null(strstr(err.text, "empty"));
    gpu_list_free(&list);
}

static void test_not_a_cuda_runtime(void **state)
{
    (void)state;
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(gpus_probe("libm.so.6", &list, &err), GPUS_NO_LIBRARY);
    assert_non_null(strstr(err.text, "is not a usable CUDA runtime library"));
    assert_non_null(strstr(err.text, "cudaGetDeviceCount"));
    gpu_list_free(&list);
}

static void test_no_driver(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_DEVICES", "2", 1);
    setenv("FAKE_CUDART_ERROR", "insufficient_driver", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_NO_DRIVER);
    assert_string_equal(err.text, "no NVIDIA driver found (cudaErrorInsufficientDriver: "
                             "CUDA driver version is insufficient for CUDA runtime version)");
    /* What the probe learnt before failing stays for the caller to show. */
    assert_int_equal(list.runtime_version, 13000);
    assert_int_equal(list.driver_version, 0);
    assert_non_null(strstr(list.library, "libcudart-fake.so"));
    assert_null(list.devices);
    gpu_list_free(&list);
}

static void test_old_driver(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_DEVICES", "1", 1);
    setenv("FAKE_CUDART_ERROR", "old_driver", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_NO_DRIVER);
    assert_non_null(strstr(err.text, "the NVIDIA driver supports CUDA 12.2 but the CUDA runtime 13.0"));
    assert_non_null(strstr(err.text, "cudaErrorInsufficientDriver"));
    assert_int_equal(list.driver_version, 12020);
    gpu_list_free(&list);
}

static void test_stub_driver(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_ERROR", "stub_library", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_NO_DRIVER);
    assert_non_null(strstr(err.text, "no NVIDIA driver found (cudaErrorStubLibrary"));
    gpu_list_free(&list);
}

static void test_driver_mismatch(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_ERROR", "system_driver_mismatch", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_NO_DRIVER);
    assert_non_null(strstr(err.text, "cudaErrorSystemDriverMismatch"));
    gpu_list_free(&list);
}

static void test_no_device(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_ERROR", "no_device", 1);
    setenv("CUDA_VISIBLE_DEVICES", "3", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_NO_DEVICE);
    assert_non_null(strstr(err.text, "no CUDA device is visible (CUDA_VISIBLE_DEVICES=3;"));
    assert_non_null(strstr(err.text, "cudaErrorNoDevice: no CUDA-capable device is detected"));
    gpu_list_free(&list);
}

static void test_no_device_unset_visible(void **state)
{
    (void)state;
    setenv("NVIDIA_VISIBLE_DEVICES", "void", 1);
    struct gpu_list list;
    struct error err = {0};
    /* FAKE_CUDART_DEVICES unset: zero devices, cudaErrorNoDevice like the real runtime. */
    assert_int_equal(probe_fake(&list, &err), GPUS_NO_DEVICE);
    assert_non_null(strstr(err.text, "CUDA_VISIBLE_DEVICES is not set, NVIDIA_VISIBLE_DEVICES=void"));
    gpu_list_free(&list);
}

static void test_zero_devices_success(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_ZERO_OK", "1", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_NO_DEVICE);
    assert_non_null(strstr(err.text, "the CUDA runtime counted 0 devices"));
    gpu_list_free(&list);
}

static void test_unknown_error(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_ERROR", "unknown", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_ERROR);
    assert_non_null(strstr(err.text, "cudaGetDeviceCount failed in "));
    assert_non_null(strstr(err.text, "cudaErrorUnknown"));
    gpu_list_free(&list);
}

static void expect_device_failure(const char *fail, const char *call_text)
{
    setenv("FAKE_CUDART_DEVICES", "2", 1);
    setenv("FAKE_CUDART_FAIL", fail, 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_ERROR);
    assert_non_null(strstr(err.text, call_text));
    assert_non_null(strstr(err.text, "cudaErrorUnknown"));
    assert_null(list.devices); /* the half-filled array is freed, not handed out */
    assert_int_equal(list.n, 0);
    gpu_list_free(&list);
}

static void test_properties_failure(void **state)
{
    (void)state;
    expect_device_failure("props:1", "cudaGetDeviceProperties(device 1) failed");
}

static void test_attribute_failure(void **state)
{
    (void)state;
    expect_device_failure("attr:0", "cudaDeviceGetAttribute(cudaDevAttrComputeCapabilityMajor, device 0) failed");
}

static void test_pci_failure(void **state)
{
    (void)state;
    expect_device_failure("pci:1", "cudaDeviceGetPCIBusId(device 1) failed");
}

static void test_absurd_count(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_COUNT", "100000", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_ERROR);
    assert_non_null(strstr(err.text, "reported 100000 devices"));
    gpu_list_free(&list);
}

static void test_name_is_sanitised_and_bounded(void **state)
{
    (void)state;
    char name[400];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    name[3] = '\t';
    name[4] = (char)0xc3;
    setenv("FAKE_CUDART_DEVICES", "1", 1);
    setenv("FAKE_CUDART_NAMES", name, 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_OK);
    assert_int_equal(strlen(list.devices[0].name), 255);
    assert_memory_equal(list.devices[0].name, "xxx??xx", 7);
    gpu_list_free(&list);
}

/* The kind of a missing driver is the machine's; no error wanted is fine too. */
static void test_error_kind_and_no_error_wanted(void **state)
{
    (void)state;
    setenv("FAKE_CUDART_ERROR", "insufficient_driver", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(probe_fake(&list, &err), GPUS_NO_DRIVER);
    assert_int_equal(err.kind, ERR_SYSTEM);
    assert_memory_equal(err.text, "no NVIDIA driver found", 22);
    gpu_list_free(&list);
    assert_int_equal(probe_fake(&list, NULL), GPUS_NO_DRIVER);
    gpu_list_free(&list);
}

static void test_helpers(void **state)
{
    (void)state;
    char buf[16];
    gpus_version_string(13000, buf, sizeof buf);
    assert_string_equal(buf, "13.0");
    gpus_version_string(12040, buf, sizeof buf);
    assert_string_equal(buf, "12.4");
    gpus_version_string(0, buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_string_equal(gpus_status_name(GPUS_OK), "ok");
    assert_string_equal(gpus_status_name(GPUS_NO_LIBRARY), "no_library");
    assert_string_equal(gpus_status_name(GPUS_NO_DRIVER), "no_driver");
    assert_string_equal(gpus_status_name(GPUS_NO_DEVICE), "no_device");
    assert_string_equal(gpus_status_name(GPUS_ERROR), "error");
    gpu_list_free(NULL);
}

/* No CUDA runtime in the image: the driver library the container toolkit mounts answers,
 * with the same devices and ordinals (and no runtime version). */
static void test_driver_api(void **state)
{
    (void)state;
    setenv(GPUS_LIBCUDA_ENV, fake_driver, 1);
    setenv("FAKE_CUDART_DEVICES", "2", 1);
    setenv("FAKE_CUDART_NAMES", "NVIDIA H200;NVIDIA L4", 1);
    setenv("FAKE_CUDART_MEMORY_MIB", "143771;23034", 1);
    setenv("FAKE_CUDART_CC", "9.0;8.9", 1);
    setenv("FAKE_CUDART_PCI", "0000:1A:00.0;0000:2B:00.0", 1);
    setenv("FAKE_CUDART_DRIVER_VERSION", "13000", 1);
    struct gpu_list list;
    struct error err = {0};
    assert_int_equal(gpus_probe(NULL, &list, &err), GPUS_OK);
    assert_int_equal(list.n, 2);
    assert_non_null(strstr(list.library, "libcuda-fake.so"));
    assert_int_equal(list.runtime_version, 0);
    assert_int_equal(list.driver_version, 13000);
    assert_string_equal(list.devices[0].name, "NVIDIA H200");
    assert_int_equal(list.devices[0].memory_bytes, (size_t)143771 * 1024 * 1024);
    assert_int_equal(list.devices[1].cc_major, 8);
    assert_int_equal(list.devices[1].cc_minor, 9);
    assert_string_equal(list.devices[1].pci_bus_id, "0000:2B:00.0");
    assert_string_equal(list.devices[0].uuid, "GPU-a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
    gpu_list_free(&list);
    /* the runtime's override still wins over the driver's */
    assert_int_equal(gpus_probe(fake_path, &list, &err), GPUS_OK);
    assert_non_null(strstr(list.library, "libcudart-fake.so"));
    gpu_list_free(&list);
}

static void test_driver_api_failures(void **state)
{
    (void)state;
    setenv(GPUS_LIBCUDA_ENV, fake_driver, 1);
    struct gpu_list list;
    struct error err = {0};
    setenv("CUDA_VISIBLE_DEVICES", "", 1);
    assert_int_equal(gpus_probe(NULL, &list, &err), GPUS_NO_DEVICE);
    assert_non_null(strstr(err.text, "no CUDA device is visible (CUDA_VISIBLE_DEVICES="));
    assert_non_null(strstr(err.text, "libcuda-fake.so"));
    gpu_list_free(&list);
    setenv("FAKE_CUDART_DEVICES", "1", 1);
    setenv("FAKE_CUDART_ERROR", "stub_library", 1);
    assert_int_equal(gpus_probe(NULL, &list, &err), GPUS_NO_DRIVER);
    assert_non_null(strstr(err.text, "CUDA_ERROR_STUB_LIBRARY"));
    gpu_list_free(&list);
    unsetenv("FAKE_CUDART_ERROR");
    setenv("FAKE_CUDART_FAIL", "pci:0", 1);
    assert_int_equal(gpus_probe(NULL, &list, &err), GPUS_ERROR);
    assert_non_null(strstr(err.text, "cuDeviceGetPCIBusId(device 0)"));
    gpu_list_free(&list);
    unsetenv("FAKE_CUDART_FAIL");
    setenv(GPUS_LIBCUDA_ENV, "/nonexistent/libcuda.so.1", 1);
    assert_int_equal(gpus_probe(NULL, &list, &err), GPUS_NO_LIBRARY);
    assert_non_null(strstr(err.text, "/nonexistent/libcuda.so.1"));
    gpu_list_free(&list);
    setenv(GPUS_LIBCUDA_ENV, fake_path, 1); /* a runtime, not a driver */
    assert_int_equal(gpus_probe(NULL, &list, &err), GPUS_NO_LIBRARY);
    assert_non_null(strstr(err.text, "symbol cuInit is missing"));
    gpu_list_free(&list);
}

int main(void)
{
    const char *build = getenv("BUILD");
    snprintf(fake_path, sizeof fake_path, "%s/tests/libcudart-fake.so", build && build[0] ? build : "build");
    /* An absolute path, so dlopen does not search for it. */
    if (fake_path[0] != '/') {
        char *resolved = realpath(fake_path, NULL);
        if (!resolved) {
            fprintf(stderr, "test_gpus: %s not found; run `make %s` first\n", fake_path, fake_path);
            return 1;
        }
        snprintf(fake_path, sizeof fake_path, "%s", resolved);
        free(resolved);
    }
    snprintf(fake_driver, sizeof fake_driver, "%s", fake_path);
    char *slash = strrchr(fake_driver, '/');
    snprintf(slash + 1, sizeof fake_driver - (size_t)(slash + 1 - fake_driver), "libcuda-fake.so");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_two_devices, reset_env),
        cmocka_unit_test_setup(test_defaults_of_fake, reset_env),
        cmocka_unit_test_setup(test_env_override, reset_env),
        cmocka_unit_test_setup(test_env_override_missing, reset_env),
        cmocka_unit_test_setup(test_argument_beats_env, reset_env),
        cmocka_unit_test_setup(test_missing_library, reset_env),
        cmocka_unit_test_setup(test_empty_override, reset_env),
        cmocka_unit_test_setup(test_not_a_cuda_runtime, reset_env),
        cmocka_unit_test_setup(test_no_driver, reset_env),
        cmocka_unit_test_setup(test_old_driver, reset_env),
        cmocka_unit_test_setup(test_stub_driver, reset_env),
        cmocka_unit_test_setup(test_driver_mismatch, reset_env),
        cmocka_unit_test_setup(test_no_device, reset_env),
        cmocka_unit_test_setup(test_no_device_unset_visible, reset_env),
        cmocka_unit_test_setup(test_zero_devices_success, reset_env),
        cmocka_unit_test_setup(test_unknown_error, reset_env),
        cmocka_unit_test_setup(test_properties_failure, reset_env),
        cmocka_unit_test_setup(test_attribute_failure, reset_env),
        cmocka_unit_test_setup(test_pci_failure, reset_env),
        cmocka_unit_test_setup(test_absurd_count, reset_env),
        cmocka_unit_test_setup(test_name_is_sanitised_and_bounded, reset_env),
        cmocka_unit_test_setup(test_error_kind_and_no_error_wanted, reset_env),
        cmocka_unit_test_setup(test_helpers, reset_env),
        cmocka_unit_test_setup(test_driver_api, reset_env),
        cmocka_unit_test_setup(test_driver_api_failures, reset_env),
    };
    return cmocka_run_group_tests_name("gpus", tests, NULL, NULL);
}
