package dev.allinone.engine.sampling.json;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A compiled JSON schema that a reply must follow: each step, only the tokens whose bytes keep the text a prefix of
 * some valid answer may be sampled, and the end token only once the answer is complete. One instance serves any
 * number of replies at once, and what it learns about its states (transitions, token masks) it keeps for the next.
 */
public final class JsonConstraint {

    /** Containers nested at most in an answer to {@code {"type":"json_object"}}. */
    public static final int ANY_OBJECT_DEPTH = 4;
    private static final int CACHED = 32;
    private static final Map<String, JsonConstraint> COMPILED = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, JsonConstraint> eldest) {
            return size() > CACHED;
        }
    };
    private static final JsonConstraint ANY_OBJECT = new JsonConstraint("{\"type\":\"json_object\"}",
            new Automaton(Automaton.anyObject(ANY_OBJECT_DEPTH)));

    private final String description;
    private final Automaton automaton;

    private JsonConstraint(String description, Automaton automaton) {
        this.description = description;
        this.automaton = automaton;
    }

    /**
     * The constraint for a schema; the same schema again gets the same instance (and its learnt masks).
     *
     * @throws UnsupportedSchemaException naming the first keyword that is not supported
     */
    public static JsonConstraint forSchema(JsonNode schema) {
        String key = schema.toString();
        synchronized (COMPILED) {
            JsonConstraint c = COMPILED.get(key);
            if (c == null) {
                c = new JsonConstraint(key, new Automaton(SchemaCompiler.compile(schema)));
                COMPILED.put(key, c);
            }
            return c;
        }
    }

    /** Any JSON object ({@code response_format} {@code json_object}), containers nested at most {@link #ANY_OBJECT_DEPTH} deep. */
    public static JsonConstraint anyObject() {
        return ANY_OBJECT;
    }

    /** Follows one reply from its first token. */
    public Cursor start(Vocabulary vocabulary) {
        return new Cursor(vocabulary, automaton.start);
    }

    @Override
    public String toString() {
        return "JsonConstraint" + description;
    }

    /** Where one reply is in the automaton. Used by one reply at a time. */
    public static final class Cursor {
        private final Vocabulary vocabulary;
        private State state;

        private Cursor(Vocabulary vocabulary, State state) {
            this.vocabulary = vocabulary;
            this.state = state;
        }

        /** Sets the logit of every token not allowed now to -∞ (an end token is allowed once the answer is complete). */
        public void mask(float[] logits) {
            long[] bits = state.mask(vocabulary);
            int n = Math.min(logits.length, vocabulary.size);
            for (int w = 0; w * 64 < n; w++) {
                long word = bits[w];
                if (word == -1L) {
                    continue;
                }
                int end = Math.min(n, w * 64 + 64);
                for (int i = w * 64; i < end; i++) {
                    if ((word & (1L << i)) == 0) {
                        logits[i] = Float.NEGATIVE_INFINITY;
                    }
                }
            }
            if (logits.length > n) {
                Arrays.fill(logits, n, logits.length, Float.NEGATIVE_INFINITY);
            }
        }

        /**
         * Follows a sampled token.
         *
         * @throws IllegalStateException for a token the mask did not allow
         */
        public void accept(int token) {
            if (vocabulary.isEnd(token) && state.accepting) {
                return;
            }
            byte[] bytes = vocabulary.bytes(token);
            if (bytes == null) {
                throw new IllegalStateException("Token " + token + " is not allowed by the JSON schema here");
            }
            State s = state;
            for (byte b : bytes) {
                s = s.next(b & 0xFF);
            }
            if (s.dead()) {
                throw new IllegalStateException("Token " + token + " is not allowed by the JSON schema here");
            }
            state = s;
        }

        /** The text so far is a complete answer. */
        public boolean complete() {
            return state.accepting;
        }
    }
}
