package dev.allinone.engine.sampling.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The schema automaton against an independent validator: random walks through it (any byte it allows, stopping at
 * random where the text is complete) always end in JSON that parses and validates; texts that break the schema die.
 */
class AutomatonTest {

    @Test
    void randomWalksAlwaysWriteValidJson() {
        SplittableRandom random = new SplittableRandom(2026);
        for (String name : BoundedSchemas.names()) {
            String schema = BoundedSchemas.ALL.get(name);
            Automaton a = new Automaton(SchemaCompiler.compile(BoundedSchemas.parse(schema)));
            for (int walk = 0; walk < 300; walk++) {
                String text = walk(a, random, 2000);
                BoundedSchemas.parse(text);
                assertEquals(Set0.EMPTY, BoundedSchemas.problems(schema, text).toString(), name + ": " + text);
            }
        }
    }

    @Test
    void anyObjectWalksParseAsObjects() {
        SplittableRandom random = new SplittableRandom(7);
        Automaton a = new Automaton(Automaton.anyObject(3));
        int complete = 0;
        for (int walk = 0; walk < 300; walk++) {
            String text = walkOrNull(a, random, 400);
            if (text != null) {
                assertTrue(BoundedSchemas.parse(text).isObject(), text);
                complete++;
            }
        }
        assertTrue(complete > 50, "most short walks end: " + complete);
    }

    @Test
    void textsThatBreakTheSchemaDie() {
        Automaton nested = new Automaton(SchemaCompiler.compile(BoundedSchemas.parse(BoundedSchemas.NESTED)));
        assertTrue(accepts(nested, "{\"user\":{\"age\":120,\"vip\":true,\"score\":2.25},\"flags\":{\"a\":false,\"b\":null}}"));
        assertTrue(accepts(nested, "{\"user\":{\"age\":0,\"vip\":false,\"score\":-1.5},\"flags\":{\"a\":true,\"b\":-3}}"));
        assertFalse(alive(nested, "{\"user\":{\"age\":121"), "above the maximum");
        assertFalse(alive(nested, "{\"user\":{\"age\":-"), "below the minimum");
        assertFalse(alive(nested, "{\"user\":{\"age\":01"), "a leading zero");
        assertFalse(alive(nested, "{\"user\":{\"age\":1.5"), "an integer has no fraction");
        assertFalse(alive(nested, "{\"user\":{\"age\":1,\"vip\":true,\"score\":2.26"), "above 2.25");
        assertFalse(alive(nested, "{\"user\":{\"age\":1,\"vip\":true,\"score\":-1.51"), "below -1.5");
        assertFalse(alive(nested, "{\"flags\""), "properties in the schema's order, required ones not skipped");
        assertFalse(alive(nested, "{ "), "compact: no whitespace");
        assertFalse(accepts(nested, "{\"user\":{\"age\":1,\"vip\":true,\"score\":0}}"), "flags is required");
        Automaton ticket = new Automaton(SchemaCompiler.compile(BoundedSchemas.parse(BoundedSchemas.TICKET)));
        assertTrue(accepts(ticket, "{\"name\":\"a\\\"b\",\"priority\":\"low\"}"), "an escaped quote is one character");
        assertFalse(alive(ticket, "{\"name\":\"\","), "minLength 1");
        assertFalse(alive(ticket, "{\"name\":\"abcdefghijklm"), "maxLength 12");
        assertFalse(alive(ticket, "{\"name\":\"a\",\"priority\":\"lo\""), "not an enum value");
        assertFalse(alive(ticket, "{\"name\":\"a\nb"), "a raw control character");
    }

    @Test
    void multiByteCharactersAreFollowedByteByByteAndCountedAsOne() {
        Automaton chinese = new Automaton(SchemaCompiler.compile(BoundedSchemas.parse(BoundedSchemas.CHINESE)));
        String valid = "{\"姓名\":\"张三丰\",\"情绪\":\"正面\",\"摘要\":\"屏幕坏了😄\"}";
        assertTrue(accepts(chinese, valid));
        byte[] bytes = valid.getBytes(StandardCharsets.UTF_8);
        State s = chinese.start;
        for (byte b : bytes) {
            s = s.next(b & 0xFF);
            assertFalse(s.dead(), "each byte of a split character keeps the text alive");
        }
        assertFalse(alive(chinese, "{\"姓名\":\"张三丰李四王五\""), "seven characters are over maxLength 6 (21 bytes)");
        State partial = chinese.start;
        for (byte b : "{\"姓名\":\"张".getBytes(StandardCharsets.UTF_8)) {
            partial = partial.next(b & 0xFF);
        }
        assertTrue(partial.next(0xE5).next(0x20).dead(), "a lead byte must be followed by continuation bytes");
        assertTrue(partial.next(0xC0).dead(), "an overlong lead byte is never UTF-8");
        assertTrue(partial.next(0xED).next(0xA0).dead(), "surrogates are not UTF-8");
    }

    @Test
    void unsupportedKeywordsAreRefusedByName() {
        for (String[] c : new String[][] {
                {"{\"type\":\"string\",\"pattern\":\"a+\"}", "pattern"},
                {"{\"type\":\"string\",\"format\":\"email\"}", "format"},
                {"{\"$ref\":\"#/$defs/x\"}", "$ref"},
                {"{\"type\":\"object\",\"properties\":{},\"additionalProperties\":true}", "additionalProperties"},
                {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"multipleOf\":2}}}", "multipleOf"},
                {"{\"oneOf\":[{\"type\":\"null\"}]}", "oneOf"},
                {"{\"type\":\"array\"}", "items"},
                {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"null\"}},\"required\":[\"b\"]}", "required"}}) {
            UnsupportedSchemaException e = assertThrows(UnsupportedSchemaException.class,
                    () -> SchemaCompiler.compile(BoundedSchemas.parse(c[0])), c[0]);
            assertEquals(c[1], e.keyword(), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
        }
        assertEquals("/properties/a", assertThrows(UnsupportedSchemaException.class, () -> SchemaCompiler.compile(
                BoundedSchemas.parse("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"multipleOf\":2}}}"))).path());
    }

    @Test
    void aVocabularyMaskAllowsExactlyTheTokensThatKeepTheTextAlive() {
        List<byte[]> tokens = new ArrayList<>();
        for (String t : new String[] {"{", "{\"", "{\"name", "\":\"", "a", "ab", "\"", "\",\"", "priority", "\":\"low\"}", "}",
                " ", "\n", "张", "<end>"}) {
            tokens.add(t.getBytes(StandardCharsets.UTF_8));
        }
        byte[] zhang = "张".getBytes(StandardCharsets.UTF_8);
        for (byte b : zhang) {
            tokens.add(new byte[] {b});
        }
        int end = 14;
        tokens.set(end, null);
        Vocabulary v = Vocabulary.of(tokens, new int[] {end});
        JsonConstraint c = JsonConstraint.forSchema(BoundedSchemas.parse(BoundedSchemas.TICKET));
        JsonConstraint.Cursor cursor = c.start(v);
        assertEquals(List.of(0, 1, 2), allowed(cursor, tokens.size()));
        cursor.accept(2); // {"name
        assertEquals(List.of(3, 6), allowed(cursor, tokens.size()), "\":\" or the quote alone");
        cursor.accept(3);
        assertEquals(List.of(0, 1, 4, 5, 8, 10, 11, 13, 15), allowed(cursor, tokens.size()),
                "content ({\" too: a character then the closing quote); a lead byte alone; not the quote alone (minLength 1)");
        cursor.accept(15);
        assertEquals(List.of(16, 17), allowed(cursor, tokens.size()), "after a lead byte only continuation bytes (张's 2nd and 3rd)");
        cursor.accept(16);
        cursor.accept(17);
        cursor.accept(7);
        cursor.accept(8);
        cursor.accept(9);
        assertTrue(cursor.complete());
        assertEquals(List.of(end), allowed(cursor, tokens.size()), "complete: only the end");
        assertThrows(IllegalStateException.class, () -> c.start(v).accept(12), "a newline cannot begin the answer");
    }

    private static List<Integer> allowed(JsonConstraint.Cursor cursor, int n) {
        float[] logits = new float[n];
        cursor.mask(logits);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (logits[i] == 0f) {
                out.add(i);
            }
        }
        return out;
    }

    private static boolean alive(Automaton a, String text) {
        State s = a.start;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            s = s.next(b & 0xFF);
        }
        return !s.dead();
    }

    private static boolean accepts(Automaton a, String text) {
        State s = a.start;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            s = s.next(b & 0xFF);
        }
        return s.accepting;
    }

    private static String walk(Automaton a, SplittableRandom random, int limit) {
        String text = walkOrNull(a, random, limit);
        if (text == null) {
            throw new AssertionError("A bounded schema's walk did not end within " + limit + " bytes");
        }
        return text;
    }

    /** Random allowed bytes; at a complete text stops with probability 1/3 or when nothing else is allowed. */
    private static String walkOrNull(Automaton a, SplittableRandom random, int limit) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        State s = a.start;
        for (int i = 0; i < limit; i++) {
            List<Integer> options = new ArrayList<>();
            for (int b = 0; b < 256; b++) {
                if (!s.next(b).dead()) {
                    options.add(b);
                }
            }
            if (s.accepting && (options.isEmpty() || random.nextInt(3) == 0)) {
                return out.toString(StandardCharsets.UTF_8);
            }
            assertFalse(options.isEmpty(), "a live state always has a way on: " + out.toString(StandardCharsets.UTF_8));
            int b = options.get(random.nextInt(options.size()));
            out.write(b);
            s = s.next(b);
        }
        return null;
    }

    private static final class Set0 {
        static final String EMPTY = "[]";
    }
}
