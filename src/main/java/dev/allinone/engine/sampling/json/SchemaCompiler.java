package dev.allinone.engine.sampling.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a JSON schema into {@link Node}s. Supported: {@code type} object (properties, required,
 * additionalProperties false), array (items, minItems, maxItems), string (enum, minLength, maxLength), integer and
 * number (minimum, maximum), boolean, null; {@code enum}, {@code const}, {@code anyOf}, nesting. Annotations
 * ({@code title}, {@code description}, {@code $schema}, …) are ignored; any other keyword is refused by name.
 */
final class SchemaCompiler {

    /** Keywords that say nothing about which texts are valid. */
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "$schema", "$id", "$comment", "examples",
            "default");
    private static final Set<String> SUPPORTED = Set.of("type", "properties", "required", "additionalProperties", "items",
            "minItems", "maxItems", "enum", "const", "minLength", "maxLength", "minimum", "maximum", "anyOf");
    private static final Set<String> TYPES = Set.of("object", "array", "string", "integer", "number", "boolean", "null");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Digits the integer part of a number may have: enough for any long, and every state stays finite. */
    static final int MAX_INT_DIGITS = 18;
    /** Digits after the decimal point at most. */
    static final int MAX_FRACTION_DIGITS = 6;

    private SchemaCompiler() {
    }

    static Node compile(JsonNode schema) {
        return node(schema, "");
    }

    private static Node node(JsonNode s, String path) {
        if (s == null || !s.isObject()) {
            throw unsupported("type", path, "A schema must be a JSON object at " + where(path));
        }
        Set<String> used = new HashSet<>();
        for (Iterator<String> names = s.fieldNames(); names.hasNext(); ) {
            String k = names.next();
            if (!ANNOTATIONS.contains(k)) {
                used.add(k);
            }
        }
        only(used, path, SUPPORTED);
        if (used.contains("anyOf")) {
            only(used, path, Set.of("anyOf"));
            JsonNode alts = s.get("anyOf");
            if (!alts.isArray() || alts.isEmpty()) {
                throw unsupported("anyOf", path, "anyOf must be a non-empty array at " + where(path));
            }
            List<Node> nodes = new ArrayList<>();
            for (int i = 0; i < alts.size(); i++) {
                nodes.add(node(alts.get(i), path + "/anyOf/" + i));
            }
            return nodes.size() == 1 ? nodes.getFirst() : new Node.AnyOf(nodes);
        }
        if (used.contains("enum") || used.contains("const")) {
            String keyword = used.contains("enum") ? "enum" : "const";
            only(used, path, Set.of(keyword, "type"));
            JsonNode values = keyword.equals("enum") ? s.get("enum") : JSON.createArrayNode().add(s.get("const"));
            if (!values.isArray() || values.isEmpty()) {
                throw unsupported(keyword, path, "enum must be a non-empty array at " + where(path));
            }
            List<Node.Literal> literals = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            for (JsonNode v : values) {
                if (s.has("type") && !hasType(v, s.get("type").asText())) {
                    throw unsupported(keyword, path, "The value " + v + " is not of the type " + s.get("type") + " at " + where(path));
                }
                String text = write(v);
                if (seen.add(text)) {
                    literals.add(new Node.Literal(text));
                }
            }
            return new Node.Literals(literals);
        }
        JsonNode typeNode = s.get("type");
        if (typeNode == null) {
            throw unsupported("type", path, "Each schema needs a 'type' (or enum, const, anyOf) at " + where(path));
        }
        if (typeNode.isArray()) {
            List<Node> nodes = new ArrayList<>();
            for (JsonNode t : typeNode) {
                var copy = s.deepCopy();
                ((com.fasterxml.jackson.databind.node.ObjectNode) copy).set("type", t);
                nodes.add(node(copy, path));
            }
            if (nodes.isEmpty()) {
                throw unsupported("type", path, "'type' must not be an empty array at " + where(path));
            }
            return nodes.size() == 1 ? nodes.getFirst() : new Node.AnyOf(nodes);
        }
        String type = typeNode.asText();
        if (!TYPES.contains(type)) {
            throw unsupported("type", path, "Unknown type '" + typeNode + "' at " + where(path));
        }
        return switch (type) {
            case "object" -> object(s, used, path);
            case "array" -> array(s, used, path);
            case "string" -> {
                only(used, path, Set.of("type", "minLength", "maxLength"));
                int min = count(s, "minLength", 0, path);
                int max = count(s, "maxLength", Integer.MAX_VALUE, path);
                if (min > max) {
                    throw unsupported("minLength", path, "minLength exceeds maxLength at " + where(path));
                }
                yield new Node.StringNode(min, max);
            }
            case "integer", "number" -> {
                only(used, path, Set.of("type", "minimum", "maximum"));
                BigDecimal min = bound(s, "minimum", path);
                BigDecimal max = bound(s, "maximum", path);
                if (min != null && max != null && min.compareTo(max) > 0) {
                    throw unsupported("minimum", path, "minimum exceeds maximum at " + where(path));
                }
                if (type.equals("integer") && min != null && max != null
                        && min.setScale(0, java.math.RoundingMode.CEILING).compareTo(max.setScale(0, java.math.RoundingMode.FLOOR)) > 0) {
                    throw unsupported("minimum", path, "No integer lies between minimum and maximum at " + where(path));
                }
                yield new Node.NumberNode(type.equals("integer"), min, max);
            }
            case "boolean" -> {
                only(used, path, Set.of("type"));
                yield new Node.Literals(List.of(new Node.Literal("true"), new Node.Literal("false")));
            }
            default -> {
                only(used, path, Set.of("type"));
                yield new Node.Literals(List.of(new Node.Literal("null")));
            }
        };
    }

    private static Node object(JsonNode s, Set<String> used, String path) {
        only(used, path, Set.of("type", "properties", "required", "additionalProperties"));
        JsonNode additional = s.get("additionalProperties");
        if (additional != null && !(additional.isBoolean() && !additional.asBoolean())) {
            throw unsupported("additionalProperties", path, "Only \"additionalProperties\": false is supported at " + where(path));
        }
        JsonNode props = s.path("properties");
        if (!props.isObject() && !props.isMissingNode()) {
            throw unsupported("properties", path, "properties must be an object at " + where(path));
        }
        Set<String> required = new HashSet<>();
        JsonNode req = s.get("required");
        if (req != null) {
            if (!req.isArray()) {
                throw unsupported("required", path, "required must be an array at " + where(path));
            }
            for (JsonNode r : req) {
                if (!r.isTextual() || !props.has(r.asText())) {
                    throw unsupported("required", path, "required names " + r + ", which is not among the properties at " + where(path));
                }
                required.add(r.asText());
            }
        }
        List<Node.Property> properties = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = write(JSON.getNodeFactory().textNode(e.getKey()));
            properties.add(new Node.Property(e.getKey(), node(e.getValue(), path + "/properties/" + escape(e.getKey())),
                    required.contains(e.getKey()), new Node.Literal(key + ":"), new Node.Literal("," + key + ":")));
        }
        return new Node.ObjectNode(properties);
    }

    private static Node array(JsonNode s, Set<String> used, String path) {
        only(used, path, Set.of("type", "items", "minItems", "maxItems"));
        if (!s.has("items")) {
            throw unsupported("items", path, "An array needs an 'items' schema at " + where(path));
        }
        int min = count(s, "minItems", 0, path);
        int max = count(s, "maxItems", Integer.MAX_VALUE, path);
        if (min > max) {
            throw unsupported("minItems", path, "minItems exceeds maxItems at " + where(path));
        }
        return new Node.ArrayNode(node(s.get("items"), path + "/items"), min, max);
    }

    private static void only(Set<String> used, String path, Set<String> allowed) {
        for (String k : used) {
            if (!allowed.contains(k)) {
                throw unsupported(k, path, "The schema keyword '" + k + "' is not supported here (at " + where(path) + "); supported: "
                        + "type, properties, required, additionalProperties: false, items, minItems, maxItems, enum, const, "
                        + "minLength, maxLength, minimum, maximum, anyOf");
            }
        }
    }

    private static int count(JsonNode s, String keyword, int absent, String path) {
        JsonNode v = s.get(keyword);
        if (v == null) {
            return absent;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0) {
            throw unsupported(keyword, path, keyword + " must be a non-negative integer at " + where(path));
        }
        return v.asInt();
    }

    private static BigDecimal bound(JsonNode s, String keyword, String path) {
        JsonNode v = s.get(keyword);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw unsupported(keyword, path, keyword + " must be a number at " + where(path));
        }
        BigDecimal b = v.decimalValue();
        if (b.abs().compareTo(BigDecimal.TEN.pow(MAX_INT_DIGITS)) >= 0) {
            throw unsupported(keyword, path, keyword + " must be below 10^" + MAX_INT_DIGITS + " in magnitude at " + where(path));
        }
        return b;
    }

    private static boolean hasType(JsonNode v, String type) {
        return switch (type) {
            case "string" -> v.isTextual();
            case "integer" -> v.isIntegralNumber();
            case "number" -> v.isNumber();
            case "boolean" -> v.isBoolean();
            case "null" -> v.isNull();
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            default -> false;
        };
    }

    private static String write(JsonNode v) {
        try {
            return JSON.writeValueAsString(v);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String escape(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }

    private static String where(String path) {
        return path.isEmpty() ? "the root" : path;
    }

    private static UnsupportedSchemaException unsupported(String keyword, String path, String message) {
        return new UnsupportedSchemaException(keyword, path, message);
    }
}
