package dev.allinone.engine.sampling.json;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A compiled schema element. Nodes and {@link Literal}s compare by identity: the automaton's states refer to them, and
 * one compiled schema holds each exactly once.
 */
sealed interface Node {

    /** Bytes written exactly, e.g. {@code "key":} or an enum value's JSON. */
    final class Literal {
        final byte[] bytes;

        Literal(String text) {
            this.bytes = text.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /** One property: {@code first} opens it as the object's first written one, {@code later} after a comma. */
    record Property(String name, Node value, boolean required, Literal first, Literal later) {
    }

    /** Properties in the schema's order; {@code additionalProperties} is always false when generating. */
    final class ObjectNode implements Node {
        final List<Property> properties;

        ObjectNode(List<Property> properties) {
            this.properties = List.copyOf(properties);
        }
    }

    final class ArrayNode implements Node {
        final Node items;
        final int minItems;
        final int maxItems;

        ArrayNode(Node items, int minItems, int maxItems) {
            this.items = items;
            this.minItems = minItems;
            this.maxItems = maxItems;
        }
    }

    /** Lengths in code points, as JSON Schema counts them; {@code maxLength} is {@link Integer#MAX_VALUE} when unbounded. */
    final class StringNode implements Node {
        final int minLength;
        final int maxLength;

        StringNode(int minLength, int maxLength) {
            this.minLength = minLength;
            this.maxLength = maxLength;
        }

        /** Counts above this behave alike: the state keeps at most this many. */
        int countCap() {
            return maxLength == Integer.MAX_VALUE ? minLength : maxLength;
        }
    }

    /** A number (or an integer) between optional bounds, written without exponent. */
    final class NumberNode implements Node {
        final boolean integer;
        final BigDecimal minimum;
        final BigDecimal maximum;

        NumberNode(boolean integer, BigDecimal minimum, BigDecimal maximum) {
            this.integer = integer;
            this.minimum = minimum;
            this.maximum = maximum;
        }
    }

    /** One of fixed texts: an enum's or a const's values, true/false, null. */
    final class Literals implements Node {
        final List<Literal> values;

        Literals(List<Literal> values) {
            this.values = List.copyOf(values);
        }
    }

    final class AnyOf implements Node {
        final List<Node> alternatives;

        AnyOf(List<Node> alternatives) {
            this.alternatives = List.copyOf(alternatives);
        }
    }

    /** Any JSON value nested at most {@code depth} containers deep ({@code {"type":"json_object"}}'s members). */
    final class AnyValue implements Node {
        final int depth;
        AnyValue inner;

        AnyValue(int depth) {
            this.depth = depth;
        }
    }

    /** Any JSON object whose members are {@code member}s ({@code {"type":"json_object"}}). */
    final class AnyObject implements Node {
        final AnyValue member;

        AnyObject(AnyValue member) {
            this.member = member;
        }
    }
}
