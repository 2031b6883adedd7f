package dev.allinone.engine.sampling.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The four schemas of issue 27's acceptance, each with bounded answers (so a whole answer fits in a few hundred
 * tokens), and an independent validator (networknt's json-schema-validator) to check answers against them.
 */
public final class BoundedSchemas {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static final String TICKET = """
            {"type":"object","properties":{
              "name":{"type":"string","minLength":1,"maxLength":12},
              "priority":{"type":"string","enum":["low","medium","high"]},
              "note":{"type":"string","maxLength":10}},
             "required":["name","priority"],"additionalProperties":false}""";

    public static final String ITEMS = """
            {"type":"array","minItems":1,"maxItems":3,"items":{"type":"object","properties":{
              "sku":{"type":"string","minLength":2,"maxLength":8},
              "qty":{"type":"integer","minimum":1,"maximum":99}},
             "required":["sku","qty"],"additionalProperties":false}}""";

    public static final String NESTED = """
            {"type":"object","properties":{
              "user":{"type":"object","properties":{
                 "age":{"type":"integer","minimum":0,"maximum":120},
                 "vip":{"type":"boolean"},
                 "score":{"type":"number","minimum":-1.5,"maximum":2.25}},
                "required":["age","vip","score"],"additionalProperties":false},
              "flags":{"type":"object","properties":{"a":{"type":"boolean"},"b":{"anyOf":[{"type":"null"},{"type":"integer","minimum":-3,"maximum":3}]}},
                "required":["a","b"],"additionalProperties":false}},
             "required":["user","flags"],"additionalProperties":false}""";

    public static final String CHINESE = """
            {"type":"object","properties":{
              "姓名":{"type":"string","minLength":2,"maxLength":6},
              "情绪":{"type":"string","enum":["正面","负面","中性"]},
              "摘要":{"type":"string","minLength":1,"maxLength":12}},
             "required":["姓名","情绪","摘要"],"additionalProperties":false}""";

    public static final Map<String, String> ALL = Map.of("ticket", TICKET, "items", ITEMS, "nested", NESTED, "chinese", CHINESE);

    private BoundedSchemas() {
    }

    public static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new AssertionError("Not JSON: " + json, e);
        }
    }

    /** The validator's complaints about {@code answer} (empty when it is valid). */
    public static Set<ValidationMessage> problems(String schema, String answer) {
        JsonSchema s = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(parse(schema));
        return s.validate(parse(answer));
    }

    public static List<String> names() {
        return List.of("ticket", "items", "nested", "chinese");
    }
}
