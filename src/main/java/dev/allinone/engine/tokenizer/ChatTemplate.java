package dev.allinone.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;

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

    /** Placeholders for message contents; only the template's own text is ever scanned for them. */
    private static final char SLOT_OPEN = '\uF8F0';
    private static final char SLOT_CLOSE = '\uF8F1';
    private static final Pattern SLOT = Pattern.compile(SLOT_OPEN + "(\\d+)" + SLOT_CLOSE);

    private final String template;
    private final String eosToken;

    public ChatTemplate(String template, String eosToken) {
        this.template = template;
        this.eosToken = eosToken;
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
            JsonNode eos = config.path("eos_token");
            return new ChatTemplate(template.asText(), eos.isObject() ? eos.path("content").asText() : eos.asText("<|im_end|>"));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** The exact prompt string Hugging Face's {@code apply_chat_template(messages, add_generation_prompt)} gives. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> jinjaMessages = new ArrayList<>(messages.size());
        for (Message m : messages) {
            jinjaMessages.add(Map.of("role", m.role(), "content", m.content()));
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", jinjaMessages);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("eos_token", eosToken);
        context.put("bos_token", "");
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
        List<Message> slotted = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            slotted.add(new Message(messages.get(i).role(), SLOT_OPEN + Integer.toString(i) + SLOT_CLOSE));
        }
        String skeleton = render(slotted, addGenerationPrompt);
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
