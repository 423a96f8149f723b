"""test_kernel_test_suite.py — Debian's jupyter_kernel_test suite against the spark-4.1-baseline
kernel, on each runtime.

Every test of jupyter_kernel_test.KernelTests has a sample here, so none is skipped. The
suite is a unittest.TestCase, which pytest cannot parametrise: it is run here test by test
(test_kernel_test, parametrised by runtime and test name) under unittest's own result, on
one kernel per runtime that the module fixture `kernel_tests` starts (setUpClass, with
JUPYTER_PATH set to the kernelspec under test by `proto_setup`; no cell runs before the
suite's first test) and whose processes must all be gone after tearDownClass.
"""
import unittest

import jupyter_kernel_test
import pytest

from support import protocol as h


class SparkK8sKernelTests(jupyter_kernel_test.KernelTests):
    __test__ = False  # run by test_kernel_test, once per runtime
    kernel_name = h.KERNEL_NAME

    language_name = "python"
    file_extension = ".py"

    code_hello_world = "print('hello, world')"
    code_stderr = "import sys; print('test', file=sys.stderr)"

    completion_samples = [
        {"text": "zi", "matches": {"zip"}},
        {"text": "import itertool", "matches": {"itertools"}},
    ]

    complete_code_samples = ["1", "print('hello, world')", "def f(x):\n  return x*2\n\n\n"]
    incomplete_code_samples = ["print('''hello", "def f(x):\n  x*2"]
    invalid_code_samples = ["import = 7q"]

    code_page_something = "zip?"

    code_generate_error = "raise ValueError('spark-k8s test error')"

    code_execute_result = [
        {"code": "1+2+3", "result": "6"},
        {"code": "[n*n for n in range(1, 4)]", "result": "[1, 4, 9]"},
        {"code": "'spark' + '-k8s'", "result": "'spark-k8s'"},
    ]

    code_display_data = [
        {"code": "from IPython.display import HTML, display; display(HTML('<b>test</b>'))",
         "mime": "text/html"},
        {"code": "from IPython.display import Math, display; display(Math('\\\\frac{1}{2}'))",
         "mime": "text/latex"},
    ]

    code_history_pattern = "1?2*"
    # "range" is left out as in jupyter_kernel_test's own ipykernel samples: IPython answers a
    # range in the current session with session number 0 (plain ipykernel 6.17 fails it too).
    supported_history_operations = ("tail", "search")

    code_inspect_sample = "zip"

    code_clear_output = "from IPython.display import clear_output; clear_output()"



NAMES = unittest.TestLoader().getTestCaseNames(SparkK8sKernelTests)
# "range" is left out of supported_history_operations: test_history skips that subtest
ALLOWED_SKIPS = {"test_history": "hist_access_type='range'"}


@pytest.fixture(scope="module")
def kernel_tests(proto_setup):
    """The suite's class with its kernel started on the module's runtime."""
    # cold: no cell runs before the suite's own (its first test, test_clear_output, is
    # the one that saw the runtime's `status: starting` in its first cell; issue 17)
    SparkK8sKernelTests.setUpClass()
    try:
        kernel = proto_setup.processes(h.launcher_pid(SparkK8sKernelTests.km))
    except BaseException:
        SparkK8sKernelTests.tearDownClass()
        raise
    yield SparkK8sKernelTests
    SparkK8sKernelTests.tearDownClass()
    kernel.assert_all_gone()


@pytest.mark.parametrize("name", NAMES)
def test_kernel_test(kernel_tests, name):
    """One test of the library under unittest's own result: pytest 7.2 has no subtests, and
    would turn test_history's skipped "range" subtest into a skip of the whole test, never
    running the "search" subtests after it. Each subtest is kept apart: every one must pass,
    and only the allowed one may be skipped (test_protocol_messages.py checks a range
    request itself)."""
    result = unittest.TestResult()
    kernel_tests(name).run(result)
    problems = [text for _, text in result.failures + result.errors]
    assert not problems, "\n".join(problems)
    assert result.testsRun == 1
    skipped = [str(case) for case, _ in result.skipped]
    if name in ALLOWED_SKIPS:
        assert len(skipped) == 1 and ALLOWED_SKIPS[name] in skipped[0], skipped
    else:
        assert skipped == [], skipped


def test_every_kernel_test_has_a_sample():
    """A test that raises SkipTest for lack of a sample would pass silently."""
    assert len(NAMES) >= 12
    samples = {
        "test_execute_stdout": "code_hello_world", "test_execute_stderr": "code_stderr",
        "test_completion": "completion_samples", "test_is_complete": "invalid_code_samples",
        "test_pager": "code_page_something", "test_error": "code_generate_error",
        "test_execute_result": "code_execute_result", "test_display_data": "code_display_data",
        "test_history": "code_history_pattern", "test_inspect": "code_inspect_sample",
        "test_clear_output": "code_clear_output",
    }
    for test, sample in samples.items():
        assert test in NAMES
        assert getattr(SparkK8sKernelTests, sample), f"{test} would be skipped: no {sample}"
