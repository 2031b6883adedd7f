package dev.allinone.ai;

/**
 * Input that cannot be processed, with a stable machine-readable code and the field at fault.
 *
 * @see InputCleaner
 */
public class InvalidInputException extends RuntimeException {

    private final String code;
    private final String field;
    private final boolean tooLarge;

    public InvalidInputException(String code, String field, String message, boolean tooLarge) {
        super(message);
        this.code = code;
        this.field = field;
        this.tooLarge = tooLarge;
    }

    public static InvalidInputException invalid(String code, String field, String message) {
        return new InvalidInputException(code, field, message, false);
    }

    public String code() {
        return code;
    }

    public String field() {
        return field;
    }

    /** True when the input is well-formed but over a size limit (HTTP 413). */
    public boolean tooLarge() {
        return tooLarge;
    }
}
