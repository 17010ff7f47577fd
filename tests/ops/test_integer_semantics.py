"""Integer and special-value semantics against PyTorch: wrap-around of scalar operands,
range-checked stored values, shifts and bitwise ops, float %, fmod and // at inf, nan and
signed zeros (compared bit for bit, sign of zero included), and PyTorch's errors."""
import numpy as np
import pytest

from outcome import assert_same_outcome

F = [0.0, -0.0, 1.0, -1.0, 5.0, -5.0, 0.5, float("inf"), float("-inf"), float("nan")]
A, B = (np.array(v, dtype=np.float32) for v in zip(*[(a, b) for a in F for b in F]))

CASES = {
    "int8 + 200 wraps": (lambda m, x: x + 200, np.array([1, 100, -128], dtype=np.int8)),
    "uint8 - 1 wraps": (lambda m, x: x - 1, np.array([0, 5], dtype=np.uint8)),
    "int8 * 1000": (lambda m, x: x * 1000, np.array([3, -3], dtype=np.int8)),
    "int8 == 200 compares the wrapped scalar": (lambda m, x: x == 200, np.array([-56, 72], dtype=np.int8)),
    "uint8 < -1": (lambda m, x: x < -1, np.array([5, 255], dtype=np.uint8)),
    "int8 | 300": (lambda m, x: x | 300, np.array([1], dtype=np.int8)),
    "int64 + 2**63 wraps": (lambda m, x: x + 2 ** 63, np.array([5])),
    "int8 + 2**64 overflows": (lambda m, x: x + 2 ** 64, np.array([5], dtype=np.int8)),
    "int8 + -2**63-1 overflows": (lambda m, x: x + (-2 ** 63 - 1), np.array([5], dtype=np.int8)),
    "bool + 2**63": (lambda m, x: x + 2 ** 63, np.array([True])),
    "int8 / 200 is true division": (lambda m, x: x / 200, np.array([1, -7], dtype=np.int8)),
    "maximum int8, uint8": (lambda m, x, y: m.maximum(x, y), np.array([-3, 7], dtype=np.int8),
                            np.array([200, 1], dtype=np.uint8)),
    "tensor(-1, uint8)": (lambda m: m.tensor([-1, -255], dtype=m.uint8),),
    "tensor(-256, uint8)": (lambda m: m.tensor([-256], dtype=m.uint8),),
    "tensor(300, int8)": (lambda m: m.tensor([300], dtype=m.int8),),
    "tensor(-0.5, uint8)": (lambda m: m.tensor([-0.5], dtype=m.uint8),),
    "tensor(1.7, uint8)": (lambda m: m.tensor([1.7, 255.0], dtype=m.uint8),),
    "tensor(nan, int32)": (lambda m: m.tensor([float("nan")], dtype=m.int32),),
    "tensor(2**63)": (lambda m: m.tensor([2 ** 63]),),
    "tensor(70000, float16)": (lambda m: m.tensor([70000.0], dtype=m.float16),),
    "full(-1, uint8)": (lambda m: m.full((2,), -1, dtype=m.uint8),),
    "full(200, int8)": (lambda m: m.full((2,), 200, dtype=m.int8),),
    "full(1e10, float16)": (lambda m: m.full((2,), 1e10, dtype=m.float16),),
    "int8 << 3": (lambda m, x: x << 3, np.array([1, 2, -1, 127], dtype=np.int8)),
    "shift by width or more": (lambda m, x: (x << 64, x >> 64, x >> 63, x << -1), np.array([-8, 8])),
    "1 << tensor": (lambda m, x: 1 << x, np.array([1, 2, 62])),
    "rshift int8 by uint8": (lambda m, x, y: x >> y, np.array([-128, 64], dtype=np.int8),
                             np.array([7, 200], dtype=np.uint8)),
    "in-place shifts": (lambda m, x: (x.clone().__ilshift__(2), x.clone().bitwise_right_shift_(1)),
                        np.array([3, -4])),
    "float << raises": (lambda m, x: x << 1, np.array([1.5], dtype=np.float32)),
    "bool << bool raises": (lambda m, x: x << x, np.array([True])),
    "bool << 1 is int64": (lambda m, x: x << 1, np.array([True, False])),
    "bitwise on bools": (lambda m, x, y: (x & y, x | y, x ^ y, ~x, m.bitwise_not(x)),
                         np.array([True, False]), np.array([True, True])),
    "bitwise on uint8": (lambda m, x: (~x, x & 6, x ^ 255), np.array([5, 250], dtype=np.uint8)),
    "in-place bitwise": (lambda m, x: (x.clone().__iand__(6), x.clone().bitwise_or_(8), x.clone().__ixor__(1)),
                         np.array([5, 3])),
    "bitwise_and of floats raises": (lambda m, x: x & x, np.array([1.0], dtype=np.float32)),
    "~float raises": (lambda m, x: ~x, np.array([1.0], dtype=np.float32)),
    "bitwise_not of floats raises": (lambda m, x: m.bitwise_not(x), np.array([1.0], dtype=np.float32)),
    "float %": (lambda m, x, y: x % y, A, B),
    "float remainder": (lambda m, x, y: m.remainder(x, y), A, B),
    "float fmod": (lambda m, x, y: m.fmod(x, y), A, B),
    "float //": (lambda m, x, y: x // y, A, B),
    "float div floor and trunc": (lambda m, x, y: (m.div(x, y, rounding_mode="floor"),
                                                   m.div(x, y, rounding_mode="trunc")), A, B),
    "float % scalar inf": (lambda m, x: (x % float("inf"), x % float("-inf"), x // float("inf")), A),
    "int // and % with negative operands": (lambda m, x, y: (x // y, x % y, m.fmod(x, y),
                                                            m.div(x, y, rounding_mode="trunc")),
                                            np.array([-7, 7, -7, -128], dtype=np.int8),
                                            np.array([2, -2, -2, -1], dtype=np.int8)),
    "int // 0 raises": (lambda m, x: x // 0, np.array([1])),
    "int % 0 raises": (lambda m, x: x % m.tensor([0]), np.array([1])),
    "bool - bool raises": (lambda m, x: x - x, np.array([True])),
    "bool - 1 raises": (lambda m, x: x - 1, np.array([True])),
    "1.0 - bool raises": (lambda m, x: 1.0 - x, np.array([True])),
    "-bool raises": (lambda m, x: -x, np.array([True])),
    "bool ** bool raises": (lambda m, x: x ** x, np.array([True])),
    "bool ** False and True": (lambda m, x: (x ** False, x ** True, x ** 2), np.array([True, False])),
    "bool % bool raises": (lambda m, x: x % x, np.array([True])),
    "bool // bool raises": (lambda m, x: x // x, np.array([True])),
    "fmod of bools raises": (lambda m, x: m.fmod(x, x), np.array([True])),
    "bool / bool is float": (lambda m, x: x / x, np.array([True])),
    "bool + bool, bool * bool": (lambda m, x, y: (x + y, x * y), np.array([True, False]),
                                 np.array([True, True])),
    "add alpha on bools": (lambda m, x: m.add(x, x, alpha=2), np.array([True, False])),
    "float alpha on ints raises": (lambda m, x: m.add(x, x, alpha=1.5), np.array([1])),
    "bool alpha on floats raises": (lambda m, x: m.add(x, x, alpha=True), np.array([1.0], dtype=np.float32)),
    "int ** -1 raises": (lambda m, x: x ** -1, np.array([2])),
    "int ** negative tensor": (lambda m, x, y: x ** y, np.array([1, -1, 0, -1, 2, 3]),
                               np.array([-1, -3, -2, -2, -1, -5])),
    "2 ** negative tensor": (lambda m, x: 2 ** x, np.array([-1, 3])),
    "int8 ** 200 raises": (lambda m, x: x ** 200, np.array([3], dtype=np.int8)),
    "float16 ** 70000 raises": (lambda m, x: x ** 70000.0, np.array([1.0], dtype=np.float16)),
    "pow 1 copies": (lambda m, x: (lambda y: (y.add_(1), x))(x ** 1), np.array([1.0], dtype=np.float32)),
    "float16 * and / by a number": (lambda m, x: (x * 1e-8, x / 2.0 ** 31, 3.0 / x),
                                    np.array([100.0, 2049.0, 1.0], dtype=np.float16)),
    "logical_and with a number raises": (lambda m, x: m.logical_and(x, 2), np.array([1.0], dtype=np.float32)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_integer_and_special_value_semantics_match_torch(name):
    case, *arrays = CASES[name]
    assert_same_outcome(case, *arrays, what=name)


# Integer operands of float functions: the number is an operand (no range error), the result
# a float; values within a float32 rounding of PyTorch's (its log differs in the last bit).
FLOAT_RESULTS = {
    "xlogy(int8, 200)": (lambda m, x: m.xlogy(x, 200), np.array([1, -7, 0], dtype=np.int8)),
    "xlogy(300, int8)": (lambda m, x: m.xlogy(300, x), np.array([1, 7], dtype=np.int8)),
    "hypot of int8": (lambda m, x, y: m.hypot(x, y), np.array([3, -7], dtype=np.int8),
                      np.array([4, 100], dtype=np.int8)),
    "atan2 of uint8": (lambda m, x, y: m.atan2(x, y), np.array([3, 255], dtype=np.uint8),
                       np.array([4, 1], dtype=np.uint8)),
}


@pytest.mark.parametrize("name", list(FLOAT_RESULTS))
def test_float_functions_of_integer_operands_match_torch(name):
    case, *arrays = FLOAT_RESULTS[name]
    assert_same_outcome(case, *arrays, rtol=2e-7, what=name)
