package dev.allinone.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.lib.filter.Filter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The model's own chat template ({@code tokenizer_config.json → chat_template}), rendered with Jinja the way
 * Hugging Face's {@code apply_chat_template} does (trim_blocks, lstrip_blocks).
 *
 * <p>{@link #encode} is the injection-safe way to turn a conversation into ids: only special tokens written by
 * the template become control ids; the same strings typed inside a message stay plain text.
 *
 * <p>{@code enable_thinking} is passed as Qwen3's template reads it: false unless asked for, so that a Qwen3
 * template writes the empty {@code <think>\n\n</think>\n\n} block that turns its thinking off; templates without
 * the variable (Qwen1.5, Qwen2.5) ignore it.
 */
public final class ChatTemplate {

    public record Message(String role, String content) {
    }

    private static final Jinjava JINJA = new Jinjava(JinjavaConfig.newBuilder()
            .withTrimBlocks(true)
            .withLstripBlocks(true)
            .withLegacyOverrides(LegacyOverrides.newBuilder()
                    .withParseWhitespaceControlStrictly(true)
                    .withUseTrimmingForNotesAndExpressions(true)
                    .withKeepNullableLoopValues(true)
                    .build())
            .build());

    static {
        for (String side : List.of("strip", "lstrip", "rstrip")) {
            JINJA.getGlobalContext().registerFilter(new PythonStrip(side));
        }
    }

    /** Python's {@code str.strip(chars)}, {@code lstrip} and {@code rstrip}, as filters {@code py_strip(chars)} etc. */
    private record PythonStrip(String side) implements Filter {
        @Override
        public String getName() {
            return "py_" + side;
        }

        @Override
        public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
            String text = value == null ? "" : value.toString();
            String chars = args.length > 0 && args[0] != null ? args[0] : null;
            int start = 0;
            int end = text.length();
            if (!side.equals("rstrip")) {
                while (start < end && stripped(text.charAt(start), chars)) {
                    start++;
                }
            }
            if (!side.equals("lstrip")) {
                while (end > start && stripped(text.charAt(end - 1), chars)) {
                    end--;
                }
            }
            return text.substring(start, end);
        }

        private static boolean stripped(char c, String chars) {
            return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
        }
    }

    /** Placeholders for message contents; only the template's own text is ever scanned for them. */
    private static final char SLOT_OPEN = '\uF8F0';
    private static final char SLOT_CLOSE = '\uF8F1';
    private static final Pattern SLOT = Pattern.compile(SLOT_OPEN + "(\\d+)" + SLOT_CLOSE);

    private final String template;
    private final String eosToken;
    private final String bosToken;

    public ChatTemplate(String template, String eosToken) {
        this(template, eosToken, "");
    }

    public ChatTemplate(String template, String eosToken, String bosToken) {
        this.template = forJinjava(template);
        this.eosToken = eosToken;
        this.bosToken = bosToken;
    }

    public static ChatTemplate load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer_config.json");
        try {
            JsonNode config = new ObjectMapper().readTree(Files.readAllBytes(file));
            JsonNode template = config.path("chat_template");
            if (template.isArray()) {
                for (JsonNode named : template) {
                    if ("default".equals(named.path("name").asText())) {
                        template = named.path("template");
                    }
                }
            }
            if (!template.isTextual()) {
                throw new IllegalArgumentException(file + " has no chat_template");
            }
            return new ChatTemplate(template.asText(), tokenText(config.path("eos_token")), tokenText(config.path("bos_token")));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static final Pattern NAMESPACE = Pattern.compile("namespace\\(([^()]*)\\)");
    private static final Pattern NAMED_VALUE = Pattern.compile("(\\w+)\\s*=\\s*([^,]+)");

    /**
     * The Python-isms of Qwen3's template that Jinjava does not parse, written as Jinjava reads them with the same
     * meaning: {@code seq[::-1]} → {@code seq|reverse}; {@code s.startswith(x)} → Java's {@code s.startsWith(x)} (and
     * {@code endswith}); {@code s.strip(chars)} (and {@code lstrip}, {@code rstrip}) → our filter {@code s|py_strip(chars)};
     * each {@code namespace(name=value)} value in parentheses (Jinjava binds {@code name=messages|length - 1} as
     * {@code (name=messages)|length - 1}).
     */
    static String forJinjava(String template) {
        String reversed = template.replace("[::-1]", "|reverse").replace(".startswith(", ".startsWith(").replace(".endswith(", ".endsWith(")
                .replace(".strip(", "|py_strip(").replace(".lstrip(", "|py_lstrip(").replace(".rstrip(", "|py_rstrip(");
        Matcher namespace = NAMESPACE.matcher(reversed);
        StringBuilder out = new StringBuilder();
        while (namespace.find()) {
            String values = NAMED_VALUE.matcher(namespace.group(1)).replaceAll(m -> m.group(1) + "=(" + m.group(2).trim() + ")");
            namespace.appendReplacement(out, Matcher.quoteReplacement("namespace(" + values + ")"));
        }
        return namespace.appendTail(out).toString();
    }

    /** A token named in tokenizer_config.json: a string, an object with its {@code content}, or null (""). */
    private static String tokenText(JsonNode token) {
        return token.isObject() ? token.path("content").asText() : token.isTextual() ? token.asText() : "";
    }

    /** The end-of-turn token's text as tokenizer_config.json names it ({@code eos_token}); "" when it names none. */
    public String eosToken() {
        return eosToken;
    }

    /** Whether the template reads {@code enable_thinking} (Qwen3's does: the model then thinks unless told not to). */
    public boolean hasThinkingSwitch() {
        return template.contains("enable_thinking");
    }

    /** {@link #render(List, boolean, boolean)} with thinking off. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, false);
    }

    /**
     * The exact prompt string Hugging Face's {@code apply_chat_template(messages, add_generation_prompt,
     * enable_thinking=enableThinking)} gives.
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, boolean enableThinking) {
        List<Map<String, Object>> jinjaMessages = new ArrayList<>(messages.size());
        for (Message m : messages) {
            jinjaMessages.add(Map.of("role", m.role(), "content", m.content()));
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", jinjaMessages);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("enable_thinking", enableThinking);
        context.put("eos_token", eosToken);
        context.put("bos_token", bosToken);
        RenderResult result = JINJA.renderForResult(template, context);
        if (result.hasErrors()) {
            throw new IllegalStateException("chat_template failed to render: " + result.getErrors());
        }
        return result.getOutput();
    }

    /**
     * Renders and tokenizes a conversation. Message contents are rendered as placeholders first, so the
     * special tokens found afterwards can only be the template's; each text run between them is then encoded
     * with the contents put back, exactly as Hugging Face encodes the rendered string.
     */
    public int[] encode(List<Message> messages, boolean addGenerationPrompt, QwenTokenizer tokenizer) {
        return encode(messages, addGenerationPrompt, false, tokenizer);
    }

    /** {@link #encode(List, boolean, QwenTokenizer)} with {@code enable_thinking} as given. */
    public int[] encode(List<Message> messages, boolean addGenerationPrompt, boolean enableThinking, QwenTokenizer tokenizer) {
        List<Message> slotted = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            slotted.add(new Message(messages.get(i).role(), SLOT_OPEN + Integer.toString(i) + SLOT_CLOSE));
        }
        String skeleton = render(slotted, addGenerationPrompt, enableThinking);
        List<Integer> ids = new ArrayList<>();
        tokenizer.splitOnSpecialTokens(skeleton, part -> appendText(part, messages, tokenizer, ids), ids::add);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void appendText(String skeletonPart, List<Message> messages, QwenTokenizer tokenizer, List<Integer> ids) {
        if (skeletonPart.isEmpty()) {
            return;
        }
        Matcher slot = SLOT.matcher(skeletonPart);
        StringBuilder text = new StringBuilder();
        while (slot.find()) {
            slot.appendReplacement(text, Matcher.quoteReplacement(messages.get(Integer.parseInt(slot.group(1))).content()));
        }
        slot.appendTail(text);
        for (int id : tokenizer.encode(text.toString())) {
            ids.add(id);
        }
    }
}
