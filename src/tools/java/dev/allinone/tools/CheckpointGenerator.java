package dev.allinone.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a Hugging Face-layout checkpoint of model_type qwen2 or qwen3 ({@code config.json}, the real Qwen tokenizer files,
 * {@code generation_config.json}, {@code model.safetensors}) with seeded pseudo-random weights, optionally
 * "scripted" so tests can predict what the model says. Compute cost depends only on the shape, so a full-size
 * random checkpoint is a faithful benchmark subject.
 *
 * <pre>usage: CheckpointGenerator --out DIR [--shape tiny|qwen1.5-0.5b|qwen2.5-0.5b|qwen3-0.6b] [--dtype F32|BF16] [--seed N] [--untied] [--if-absent]</pre>
 */
public final class CheckpointGenerator {

    private static final float SCRIPT_INPUT = 1.0f;
    private static final float SCRIPT_OUTPUT = 4.0f;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** {@code <|endoftext|>} and {@code <|im_end|>} in every Qwen tokenizer, as the published config files name them. */
    private static final int BOS = 151643;
    private static final int IM_END = 151645;

    private CheckpointGenerator() {
    }

    public static Path write(CheckpointSpec spec, Path dir) throws IOException {
        Files.createDirectories(dir);
        writeJson(dir.resolve("config.json"), config(spec));
        writeTokenizerFiles(spec.modelType(), dir);
        weights(spec).write(dir.resolve("model.safetensors"));
        return dir;
    }

    /**
     * The tokenizer and generation files of the model family: Qwen1.5-0.5B-Chat's as published for qwen2; for qwen3,
     * Qwen3-0.6B's {@code tokenizer_config.json} (its added tokens up to {@code </think>} and its chat template with
     * the thinking switch) and {@code generation_config.json}, and the same byte-level vocabulary and merges (the
     * families share them) with Qwen3's added tokens in {@code tokenizer.json}.
     */
    public static void writeTokenizerFiles(String modelType, Path dir) throws IOException {
        Files.createDirectories(dir);
        if (!modelType.equals(CheckpointSpec.QWEN3)) {
            writeJson(dir.resolve("generation_config.json"), generationConfig());
            Files.write(dir.resolve("tokenizer.json"), resource("qwen1.5/tokenizer.json"));
            Files.write(dir.resolve("tokenizer_config.json"), resource("qwen1.5/tokenizer_config.json"));
            return;
        }
        Files.write(dir.resolve("generation_config.json"), resource("qwen3/generation_config.json"));
        byte[] tokenizerConfig = resource("qwen3/tokenizer_config.json");
        Files.write(dir.resolve("tokenizer_config.json"), tokenizerConfig);
        ObjectNode tokenizer =
                (ObjectNode) JSON.readTree(resource("qwen1.5/tokenizer.json"));
        ArrayNode added = tokenizer.putArray("added_tokens");
        JSON.readTree(tokenizerConfig).path("added_tokens_decoder").properties().forEach(e -> {
            ObjectNode token = added.addObject();
            token.put("id", Integer.parseInt(e.getKey()));
            token.put("content", e.getValue().path("content").asText());
            for (String flag : List.of("single_word", "lstrip", "rstrip", "normalized", "special")) {
                token.put(flag, e.getValue().path(flag).asBoolean());
            }
        });
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), tokenizer);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = CheckpointGenerator.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException(name + " is not on the classpath");
            }
            return in.readAllBytes();
        }
    }

    private static SafetensorsWriter weights(CheckpointSpec s) {
        SafetensorsWriter w = new SafetensorsWriter(s.dtype());
        int h = s.hidden();
        int q = s.heads() * s.headSize();
        int kv = s.kvHeads() * s.headSize();
        boolean qwen3 = s.modelType().equals(CheckpointSpec.QWEN3);
        // Script step d uses hidden dimension d: the "from" token's embedding and the "to" token's LM-head row
        // both get a spike there (a token may be the target of several steps, so this is per step, not per token).
        int steps = s.nextToken().size();
        int[] stepFrom = new int[steps];
        int[] stepTo = new int[steps];
        int dim = 0;
        for (Map.Entry<Integer, Integer> step : s.nextToken().entrySet()) {
            stepFrom[dim] = step.getKey();
            stepTo[dim] = step.getValue();
            dim++;
        }
        long seed = s.seed();
        float range = (float) (s.weightStd() * Math.sqrt(3)); // uniform with that std
        Values values = new Values(range);
        Values.Random embed = values.random(seed++);
        w.add("model.embed_tokens.weight", i -> {
            int d = (int) (i % h);
            return embed.at(i) + (d < steps && stepFrom[d] == i / h ? SCRIPT_INPUT : 0f);
        }, s.vocab(), h);
        for (int layer = 0; layer < s.layers(); layer++) {
            String p = "model.layers." + layer + ".";
            w.add(p + "input_layernorm.weight", i -> 1f, h);
            if (qwen3) {
                // Qwen3: no biases; per-head norms on q and k, weights around 1 (0.65-1.35) so that they matter.
                w.add(p + "self_attn.q_proj.weight", values.random(seed++)::at, q, h);
                w.add(p + "self_attn.k_proj.weight", values.random(seed++)::at, kv, h);
                w.add(p + "self_attn.v_proj.weight", values.random(seed++)::at, kv, h);
                Values.Random qNorm = NORMS.random(seed++);
                Values.Random kNorm = NORMS.random(seed++);
                w.add(p + "self_attn.q_norm.weight", i -> 1f + 10f * qNorm.at(i), s.headSize());
                w.add(p + "self_attn.k_norm.weight", i -> 1f + 10f * kNorm.at(i), s.headSize());
            } else {
                w.add(p + "self_attn.q_proj.weight", values.random(seed++)::at, q, h);
                w.add(p + "self_attn.q_proj.bias", values.random(seed++)::at, q);
                w.add(p + "self_attn.k_proj.weight", values.random(seed++)::at, kv, h);
                w.add(p + "self_attn.k_proj.bias", values.random(seed++)::at, kv);
                w.add(p + "self_attn.v_proj.weight", values.random(seed++)::at, kv, h);
                w.add(p + "self_attn.v_proj.bias", values.random(seed++)::at, kv);
            }
            w.add(p + "self_attn.o_proj.weight", values.random(seed++)::at, h, q);
            w.add(p + "post_attention_layernorm.weight", i -> 1f, h);
            w.add(p + "mlp.gate_proj.weight", values.random(seed++)::at, s.intermediate(), h);
            w.add(p + "mlp.up_proj.weight", values.random(seed++)::at, s.intermediate(), h);
            w.add(p + "mlp.down_proj.weight", values.random(seed++)::at, h, s.intermediate());
        }
        w.add("model.norm.weight", i -> 1f, h);
        if (!s.tied()) {
            Values.Random head = values.random(seed);
            w.add("lm_head.weight", i -> {
                int d = (int) (i % h);
                return head.at(i) + (d < steps && stepTo[d] == i / h ? SCRIPT_OUTPUT : 0f);
            }, s.vocab(), h);
        }
        return w;
    }

    private static Map<String, Object> config(CheckpointSpec s) {
        Map<String, Object> c = new LinkedHashMap<>();
        boolean qwen3 = s.modelType().equals(CheckpointSpec.QWEN3);
        c.put("architectures", List.of(qwen3 ? "Qwen3ForCausalLM" : "Qwen2ForCausalLM"));
        c.put("attention_dropout", 0.0);
        c.put("bos_token_id", BOS);
        c.put("eos_token_id", IM_END);
        c.put("hidden_act", "silu");
        if (qwen3) {
            c.put("head_dim", s.headSize());
        }
        c.put("hidden_size", s.hidden());
        c.put("initializer_range", 0.02);
        c.put("intermediate_size", s.intermediate());
        c.put("max_position_embeddings", s.maxPositions());
        c.put("max_window_layers", s.layers());
        c.put("model_type", s.modelType());
        c.put("num_attention_heads", s.heads());
        c.put("num_hidden_layers", s.layers());
        c.put("num_key_value_heads", s.kvHeads());
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 1000000.0);
        c.put("sliding_window", s.maxPositions());
        c.put("tie_word_embeddings", s.tied());
        c.put("torch_dtype", s.dtype() == SafetensorsWriter.DType.BF16 ? "bfloat16" : "float32");
        c.put("use_cache", true);
        c.put("use_sliding_window", false);
        c.put("vocab_size", s.vocab());
        return c;
    }

    private static Map<String, Object> generationConfig() {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("bos_token_id", BOS);
        g.put("do_sample", true);
        g.put("eos_token_id", List.of(IM_END, BOS));
        g.put("pad_token_id", BOS);
        g.put("repetition_penalty", 1.1);
        g.put("top_k", 20);
        g.put("top_p", 0.8);
        return g;
    }

    private static void writeJson(Path file, Object value) throws IOException {
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), value);
    }

    /** The spread of Qwen3's q/k norm weights around 1, whatever the other weights' std. */
    private static final Values NORMS = new Values((float) (CheckpointSpec.INIT_STD * Math.sqrt(3)));

    /** Deterministic random-access weight values, uniform in ±{@code range}. */
    record Values(float range) {

        Random random(long seed) {
            return new Random(seed, range);
        }

        record Random(long seed, float range) {
            float at(long index) {
                long z = seed * 0x9E3779B97F4A7C15L + index;
                z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
                z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
                z ^= z >>> 31;
                return ((z >>> 40) / (float) (1 << 24) * 2f - 1f) * range;
            }
        }
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> opts = new HashMap<>();
        List<String> flags = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--untied") || args[i].equals("--if-absent")) {
                flags.add(args[i]);
            } else if (args[i].startsWith("--") && i + 1 < args.length) {
                opts.put(args[i], args[++i]);
            } else {
                usage("unexpected argument " + args[i]);
            }
        }
        if (!opts.containsKey("--out")) {
            usage("--out DIR is required");
        }
        long seed = Long.parseLong(opts.getOrDefault("--seed", "1"));
        CheckpointSpec spec = switch (opts.getOrDefault("--shape", "tiny")) {
            case "tiny" -> CheckpointSpec.tiny(seed);
            case "qwen1.5-0.5b" -> CheckpointSpec.qwen15HalfB(seed);
            case "qwen2.5-0.5b" -> CheckpointSpec.qwen25HalfB(seed);
            case "qwen3-0.6b" -> CheckpointSpec.qwen3SixB(seed);
            default -> throw usage("--shape is tiny, qwen1.5-0.5b, qwen2.5-0.5b or qwen3-0.6b");
        };
        if (opts.containsKey("--dtype")) {
            spec = spec.withDType(SafetensorsWriter.DType.valueOf(opts.get("--dtype")));
        }
        if (flags.contains("--untied")) {
            spec = spec.untied();
        }
        Path out = Path.of(opts.get("--out"));
        if (flags.contains("--if-absent") && Files.isRegularFile(out.resolve("model.safetensors"))) {
            System.out.printf("%s exists, left as it is%n", out);
            return;
        }
        long start = System.nanoTime();
        Path dir = write(spec, out);
        System.out.printf("wrote %s (%s, %d layers, hidden %d) in %.1f s%n", dir, spec.dtype(), spec.layers(), spec.hidden(),
                (System.nanoTime() - start) / 1e9);
    }

    private static IllegalArgumentException usage(String problem) {
        System.err.println(problem);
        System.err.println("usage: CheckpointGenerator --out DIR [--shape tiny|qwen1.5-0.5b|qwen2.5-0.5b|qwen3-0.6b] [--dtype F32|BF16] [--seed N] [--untied] [--if-absent]");
        System.exit(2);
        return new IllegalArgumentException(problem);
    }
}
