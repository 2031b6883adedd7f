package dev.allinone.engine.sampling.json;

/** A JSON schema uses a keyword (or a value of one) that constrained decoding does not support. */
public final class UnsupportedSchemaException extends IllegalArgumentException {

    private final String keyword;
    private final String path;

    UnsupportedSchemaException(String keyword, String path, String message) {
        super(message);
        this.keyword = keyword;
        this.path = path;
    }

    /** The keyword at fault, e.g. {@code pattern}. */
    public String keyword() {
        return keyword;
    }

    /** Where in the schema, as a JSON pointer ({@code ""} is the root). */
    public String path() {
        return path;
    }
}
