package dev.allinone.engine.kernels;

import java.util.List;
import java.util.Locale;

/**
 * Which kernels run the Q4 products, attention and SwiGLU ({@code allinone.engine.kernels}). {@link #AUTO} takes the
 * fastest variant this build carries for this CPU, else the Java kernels; naming a variant forces it (so that each
 * can be measured and tested on one machine) and fails the start with the reason when this build or CPU cannot run
 * it. Every C variant computes the same numbers to the bit ({@code src/main/c/kernels.h}); the Java kernels are the
 * fallback and the reference.
 */
public enum Kernels {
    /** The first variant of this architecture's list that the CPU runs, else {@link #JAVA}. */
    AUTO(null, null),
    /** x86-64 with AVX-512 VNNI (Cascade Lake and later Xeons, Ice Lake to Rocket Lake clients, Zen 4 and later): 16 rows a vector. */
    AVX512_VNNI("x86_64", "avx512vnni"),
    /** x86-64 with AVX2 + FMA + F16C and 256-bit AVX-VNNI (Alder Lake and later clients, which lack AVX-512). */
    AVX_VNNI("x86_64", "avxvnni"),
    /** x86-64 with AVX2 + FMA + F16C (Haswell and later, every Zen). */
    AVX2("x86_64", "avx2"),
    /** ARM64 NEON with the dot-product instructions (ARMv8.2+: Graviton 2 and later, Ampere, Apple M1 and later). */
    NEON_DOTPROD("aarch64", "neondot"),
    /** ARM64 NEON without them (every ARMv8-A). */
    NEON("aarch64", "neon"),
    /** The engine's Java kernels (Jlama's and {@code Q4Gemm}), on any CPU. */
    JAVA(null, null);

    /** The C library's architecture ({@code native/linux-<arch>/}), null for AUTO and JAVA. */
    final String arch;
    /** The suffix of the library's entry points ({@code aio_q4_gemm_<suffix>}). */
    final String suffix;

    Kernels(String arch, String suffix) {
        this.arch = arch;
        this.suffix = suffix;
    }

    /** As written in the configuration and the logs: {@code avx512-vnni}, {@code neon-dotprod}, {@code java}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The C variants of an architecture, fastest first: what {@link #AUTO} tries. */
    static List<Kernels> preferenceOrder(String arch) {
        return switch (arch) {
            case "x86_64" -> List.of(AVX512_VNNI, AVX_VNNI, AVX2);
            case "aarch64" -> List.of(NEON_DOTPROD, NEON);
            default -> List.of();
        };
    }
}
