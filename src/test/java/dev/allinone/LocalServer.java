package dev.allinone;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real server program the tests start on loopback (Debian's {@code redis-server}, {@code haproxy}; native/test.sh
 * installs them): found on the PATH or the test fails saying what to install — never a skip.
 */
public class LocalServer implements AutoCloseable {

    private final ProcessBuilder command;
    private final Path log;
    private Process process;

    /** @param command the program and its arguments, with any environment it needs */
    public LocalServer(ProcessBuilder command, Path log) {
        this.command = command;
        this.log = log;
    }

    /** The program's path, or an AssertionError naming the Debian package that brings it. */
    public static String program(String name, String debianPackage) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            for (String d : new String[] {dir, "/usr/sbin", "/sbin"}) {
                Path p = Path.of(d, name);
                if (Files.isExecutable(p)) {
                    return p.toString();
                }
            }
        }
        throw new AssertionError(name + " is needed by this test: apt-get install " + debianPackage + " (native/test.sh does)");
    }

    /** A port nobody listens on right now. */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Starts the program and waits until {@code port} accepts connections. */
    public LocalServer start(int port) throws Exception {
        Files.createDirectories(log.getParent());
        process = command.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError(command.command().getFirst() + " exited with " + process.exitValue() + "; see " + log);
            }
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                return this;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        throw new AssertionError(command.command().getFirst() + " did not listen on " + port + " within 20 s; see " + log);
    }

    /** Stops it (SIGTERM, then SIGKILL) and waits for the end. */
    public void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    /** {@code redis-server} on {@code port}, nothing saved to disk. */
    public static LocalServer redis(int port, Path log) {
        return new LocalServer(new ProcessBuilder(program("redis-server", "redis-server"), "--port", String.valueOf(port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"), log);
    }
}
