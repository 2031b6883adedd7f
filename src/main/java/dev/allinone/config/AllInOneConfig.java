package dev.allinone.config;

import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.kv.KvCacheType;
import dev.allinone.engine.model.WeightFormat;
import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Every setting of the service, under the single prefix {@code allinone.}: the defaults (documented in docs/configuration.md). */
@ConfigMapping(prefix = "allinone")
public interface AllInOneConfig {

    Model model();

    Generation generation();

    Engine engine();

    Input input();

    Chat chat();

    Memory memory();

    Prompts prompts();

    Http http();

    /** When set, every request but the health probes and the web page's files needs it as a bearer token. */
    Optional<String> apiKey();

    /** A file holding the API key (used when {@code allinone.api-key} is not set). */
    Optional<Path> apiKeyFile();

    interface Model {
        /** The model directory; unset: {@code models/} and the last part of {@link #repo()} ({@link EngineSettings#modelPath}). */
        Optional<Path> path();

        @WithDefault("Q4")
        WeightFormat weights();

        Optional<Path> quantizedPath();

        @WithDefault("0")
        int threads();

        @WithDefault("2048")
        int contextLength();

        /** Fetch the model from the hub at start-up when its directory is missing. */
        @WithDefault("true")
        boolean download();

        @WithDefault("Qwen/Qwen1.5-0.5B-Chat")
        String repo();

        /** The name API clients address the model by (OpenAI's {@code model}); unset: the model directory's name. */
        Optional<String> name();

        @WithDefault("main")
        String revision();

        /** The hub: {@code HF_ENDPOINT} when set, as Hugging Face's own tools do. */
        @WithDefault("${HF_ENDPOINT:https://huggingface.co}")
        String hubEndpoint();

        /** Sent as a bearer token to the hub: {@code HF_TOKEN} when set. */
        @WithDefault("${HF_TOKEN:}")
        Optional<String> hubToken();
    }

    interface Generation {
        Optional<Float> temperature();

        Optional<Integer> topK();

        Optional<Float> topP();

        Optional<Float> repetitionPenalty();

        @WithDefault("256")
        int maxNewTokens();
    }

    interface Engine {
        @WithDefault("64")
        int maxQueued();

        @WithDefault("120s")
        Duration requestTimeout();

        @WithDefault("192M")
        MemorySize kvCacheMemory();

        /** {@code F16} or {@code Q8} (8-bit keys and values, 1.94× the tokens in the same memory). */
        @WithDefault("F16")
        KvCacheType kvCacheType();

        @WithDefault("8s")
        Duration drainTimeout();

        @WithDefault("5s")
        Duration idleCompaction();

        @WithDefault("8")
        int maxBatch();

        /** {@code auto}, or a variant to force: {@code avx512-vnni}, {@code avx-vnni}, {@code avx2}, {@code neon-dotprod}, {@code neon}, {@code java}. */
        @WithDefault("auto")
        Kernels kernels();
    }

    interface Input {
        @WithDefault("2000")
        int maxChars();

        @WithDefault("65536")
        int maxFrameChars();
    }

    interface Chat {
        @WithDefault("1024")
        int memoryTokens();

        @WithDefault("4")
        int maxQueuedTurns();

        @WithDefault("4")
        int maxActivePerClient();

        @WithDefault("64")
        int maxWaitingTurns();

        /** How often the WebSocket pings an open connection, so that proxies do not close it as idle. */
        @WithDefault("30s")
        Duration pingInterval();
    }

    /** Where conversations live: in this process, or in Redis shared by the replicas. */
    interface Memory {
        enum Store {
            MEMORY, REDIS
        }

        @WithDefault("memory")
        Store store();

        /** A conversation is forgotten this long after its last turn. */
        @WithDefault("24h")
        Duration ttl();

        /** Conversations kept in this process at once (the store, or with Redis the local copy); least recently used go first. */
        @WithDefault("1000")
        int maxConversations();
    }

    /** This replica's name in the {@code X-Served-By} header and the readiness data; unset: the host name. */
    Optional<String> instance();

    interface Http {
        /** Origins besides the service's own whose pages may open the WebSocket or send requests; "*" = any. */
        Optional<List<String>> allowedOrigins();

        /** Host names served besides loopback ones while listening on loopback. */
        Optional<List<String>> allowedHosts();
    }

    interface Prompts {
        Optional<Path> path();
    }
}
