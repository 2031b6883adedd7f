package dev.allinone.ai;

import dev.allinone.config.AllInOneConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * Checks and cleans user text before it reaches a prompt. For chat, only characters that carry no meaning are
 * removed (control characters other than newline and tab, unpaired surrogates). For classification the text is
 * also flattened: whitespace runs become one space and runs of the same punctuation or symbol
 * (“！！！！”, “~~~~”) become one, which is all the polarity judgement needs.
 */
@ApplicationScoped
public class InputCleaner {

    private final int maxChars;

    @Inject
    InputCleaner(AllInOneConfig config) {
        this(config.input().maxChars());
    }

    InputCleaner(int maxChars) {
        this.maxChars = maxChars;
    }

    /** Text for the chat assistant. */
    public String forChat(String text) {
        return checked(stripInvisible(requirePresent(text), true));
    }

    /** Text for the sentiment analyzer. */
    public String forClassification(String text) {
        return checked(collapse(stripInvisible(requirePresent(text), false)));
    }

    private static String requirePresent(String text) {
        if (text == null) {
            throw InvalidInputException.invalid("missing_text", "text", "The request needs a string field 'text'");
        }
        return text;
    }

    private String checked(String cleaned) {
        if (cleaned.isBlank()) {
            throw InvalidInputException.invalid("empty_text", "text", "The text is empty (or only whitespace and control characters)");
        }
        if (cleaned.codePointCount(0, cleaned.length()) > maxChars) {
            throw new InvalidInputException("text_too_long", "text",
                    "The text has " + cleaned.codePointCount(0, cleaned.length()) + " characters; the limit is " + maxChars, true);
        }
        return cleaned.strip();
    }

    private static String stripInvisible(String text, boolean keepLineBreaks) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                out.append(c).append(text.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                continue; // unpaired: not a character
            } else if (c == '\n' || c == '\t' || c == '\r') {
                out.append(keepLineBreaks ? c : ' ');
            } else if (Character.getType(c) != Character.CONTROL) {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static String collapse(String text) {
        StringBuilder out = new StringBuilder(text.length());
        int previous = -1;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                if (previous != ' ') {
                    out.append(' ');
                }
                previous = ' ';
                continue;
            }
            if (cp == previous && isDecorative(cp)) {
                continue;
            }
            out.appendCodePoint(cp);
            previous = cp;
        }
        return out.toString();
    }

    private static boolean isDecorative(int cp) {
        return switch (Character.getType(cp)) {
            case Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL, Character.OTHER_SYMBOL,
                 Character.DASH_PUNCTUATION, Character.OTHER_PUNCTUATION, Character.CONNECTOR_PUNCTUATION -> true;
            default -> false;
        };
    }
}
