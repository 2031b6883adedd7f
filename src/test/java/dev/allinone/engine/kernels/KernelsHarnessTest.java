package dev.allinone.engine.kernels;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The C test harness ({@code src/main/c/kernels_test.c}, built by {@code native/build-kernels.sh} into
 * {@code target/kernels-test/}) for each architecture: natively for this one, under {@code qemu-aarch64}
 * (Debian's qemu-user) for ARM64 — once as a CPU with the dot-product instructions, once as a Cortex-A53 without
 * them. Each checks its variants against its double-precision reference; here, every variant of both architectures
 * must also give the same checksum of its results' bits. Skipped where the harness or QEMU is missing, unless
 * {@code ALLINONE_TEST_REQUIRED_KERNELS} names a variant of that architecture (as {@code .ci/run} does).
 */
class KernelsHarnessTest {

    private static final Path HARNESSES = Path.of("target/kernels-test");
    private static final Pattern CHECKSUM = Pattern.compile("^checksum (\\S+) ([0-9a-f]{16})$", Pattern.MULTILINE);
    private static final Pattern SUMMARY = Pattern.compile("^(\\d+) passed, (\\d+) failed$", Pattern.MULTILINE);

    /** True when CI requires a variant of this architecture ({@code ALLINONE_TEST_REQUIRED_KERNELS}). */
    private static boolean required(String arch) {
        return NativeKernelsTest.anyRequired(Kernels.preferenceOrder(arch));
    }

    /** The build puts each architecture's library into the jar (the ARM64 one where the cross-compiler was there). */
    @Test
    void theBuildCarriesTheLibraryOfEachRequiredArchitecture() {
        List<String> missing = new ArrayList<>();
        for (String arch : List.of("x86_64", "aarch64")) {
            boolean required = required(arch);
            if (KernelsHarnessTest.class.getResource("/native/linux-" + arch + "/libq4kernels.so") == null) {
                assertTrue(!required, "the build carries no " + arch + " library");
                missing.add(arch);
            }
        }
        assumeTrue(missing.isEmpty(), "this build has no library for " + missing);
    }

    @Test
    void everyVariantOfBothArchitecturesPassesAndGivesTheSameBits() throws Exception {
        List<String> checksums = new ArrayList<>();
        if ("x86_64".equals(NativeKernels.ARCH)) {
            checksums.addAll(run("x86_64", List.of(), required("x86_64")));
        }
        boolean armRequired = required("aarch64");
        if ("aarch64".equals(NativeKernels.ARCH)) {
            checksums.addAll(run("aarch64", List.of(), armRequired));
        } else {
            List<String> qemu = List.of("qemu-aarch64");
            checksums.addAll(run("aarch64", qemu, armRequired));
            List<String> a53 = run("aarch64", List.of("qemu-aarch64", "-cpu", "cortex-a53"), armRequired, "neon");
            checksums.addAll(a53);
        }
        assumeTrue(!checksums.isEmpty(), "no kernel harness ran on this machine");
        assertEquals(1, checksums.stream().map(c -> c.split(" ")[1]).distinct().count(),
                "every variant must give the same bits: " + checksums);
    }

    /** Runs one harness; its checksums ("variant checksum"), or none when it cannot run here and is not required. */
    private static List<String> run(String arch, List<String> launcher, boolean required, String... variants)
            throws IOException, InterruptedException {
        Path harness = HARNESSES.resolve("kernels_test-" + arch);
        if (!Files.isExecutable(harness)) {
            assertTrue(!required, harness + " is missing: the build needs a C compiler for " + arch);
            return List.of();
        }
        if (!launcher.isEmpty() && !onPath(launcher.get(0))) {
            assertTrue(!required, launcher.get(0) + " is missing (Debian: qemu-user)");
            return List.of();
        }
        List<String> command = new ArrayList<>(launcher);
        command.add(harness.toString());
        command.addAll(List.of(variants));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        boolean ended = p.waitFor(5, TimeUnit.MINUTES);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(ended, "the harness did not end: " + out);
        System.out.println(String.join(" ", command) + "\n" + out);
        Matcher summary = SUMMARY.matcher(out);
        assertTrue(summary.find(), out);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
        assertEquals("0", summary.group(2), out);
        List<String> checksums = new ArrayList<>();
        Matcher m = CHECKSUM.matcher(out);
        while (m.find()) {
            checksums.add(m.group(1) + " " + m.group(2));
        }
        assertTrue(!checksums.isEmpty(), "no variant ran: " + out);
        return checksums;
    }

    private static boolean onPath(String program) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
                .anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
    }
}
