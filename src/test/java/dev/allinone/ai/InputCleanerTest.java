package dev.allinone.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class InputCleanerTest {

    private final InputCleaner cleaner = new InputCleaner(20);

    @Test
    void classificationTextIsFlattenedAndDecorationCollapsed() {
        assertEquals("太棒了！ 😄 ~", cleaner.forClassification("  太棒了！！！！\n\n\t😄😄😄   ~~~~ "));
        assertEquals("a b", cleaner.forClassification("a\u0000\u0007 \u001b b"));
    }

    @Test
    void chatTextKeepsLineBreaksAndDropsControlCharacters() {
        assertEquals("第一行\n第二行！！", cleaner.forChat("第一行\n\u0000第二行！！"));
    }

    @Test
    void unpairedSurrogatesAreRemovedPairedOnesKept() {
        assertEquals("好😄", cleaner.forChat("好\uD800😄\uDC00"));
    }

    @Test
    void emptyAndOverlongTextAreRejectedWithCodes() {
        InvalidInputException empty = assertThrows(InvalidInputException.class, () -> cleaner.forChat(" \u0000\n\t "));
        assertEquals("empty_text", empty.code());
        InvalidInputException missing = assertThrows(InvalidInputException.class, () -> cleaner.forChat(null));
        assertEquals("missing_text", missing.code());
        InvalidInputException tooLong = assertThrows(InvalidInputException.class, () -> cleaner.forChat("好".repeat(21)));
        assertEquals("text_too_long", tooLong.code());
        assertTrue(tooLong.tooLarge());
        assertEquals("😄".repeat(20), cleaner.forChat("😄".repeat(20)), "the limit counts characters, not UTF-16 units");
    }
}
