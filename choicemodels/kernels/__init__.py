"""Pure numerical kernels: numpy/scipy (and numba-compiled) functions without validation,
pandas or state.

Shape vocabulary: N situations, J alternatives, K coefficients, R draws.
"""
