"""The vector width the compiled kernels are vectorized for.

LLVM tunes its code for Intel's AVX-512 cores (Skylake-SP to Sapphire Rapids) to prefer
256-bit vectors, because 512-bit instructions lowered the clock of the first of them. Numba
keeps that tuning, so every kernel ran in 256-bit vectors on CPUs whose registers are twice as
wide, between GEMMs that MKL and oneDNN already run in 512-bit ones. Compiled for 512-bit
vectors, one thread's GELU went from 1.58 to 1.23 ns an element, its gradient from 2.30 to 1.74
and exp from 0.56 to 0.45 (16k elements, in cache; 2-core Xeon, Sapphire Rapids).

``wide()``, called in a compiled function, marks the LLVM function it is compiled into to prefer
512-bit vectors (the function attributes ``prefer-vector-width`` and ``min-legal-vector-width``,
which override the CPU's tuning for that function alone: user code that Numba compiles keeps
its defaults). A parallel kernel calls it inside its ``prange`` loop, whose body Numba compiles
as a function of its own. It changes nothing where the CPU has no 512-bit vectors: the widest
legal width bounds the preference.
"""
from __future__ import annotations

from numba import types
from numba.extending import intrinsic

_ATTRIBUTES = ('"prefer-vector-width"="512"', '"min-legal-vector-width"="512"')


@intrinsic
def wide(typingctx):
    """Compile the calling function for 512-bit vectors where the CPU has them."""
    def codegen(context, builder, signature, args):
        attributes = builder.function.attributes
        if isinstance(attributes, set):  # else (another llvmlite) the default width stays
            for attribute in _ATTRIBUTES:
                # llvmlite's attribute set checks names against a list without LLVM's key="value"
                # attributes; the set itself prints any string it holds into the function's definition
                set.add(attributes, attribute)
        return context.get_dummy_value()
    return types.none(), codegen
