"""Pure numerical kernels: numpy/scipy functions without validation, pandas or state.

Shape vocabulary: N situations, J alternatives, K coefficients, R draws.
"""
