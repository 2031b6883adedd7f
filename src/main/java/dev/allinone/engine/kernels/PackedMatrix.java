package dev.allinone.engine.kernels;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix in the C kernels' layout, off the Java heap: its format's quantized values and scales, in groups of
 * {@link MatrixFormat#groupRows} rows (the layout is in {@code src/main/c/kernels.h}).
 */
public sealed interface PackedMatrix permits PackedQ4, PackedQ8 {

    MatrixFormat format();

    MemorySegment quants();

    MemorySegment scales();

    int rows();

    int in();

    /** The row groups the C kernels split the rows into (the last one may be partial). */
    default int groups() {
        int group = format().groupRows;
        return (rows() + group - 1) / group;
    }
}
