package dev.allinone.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Declarations read from the packaged file and an override directory; one that cannot work stops the start. */
class TaskRegistryTest {

    @TempDir
    Path dir;

    private TaskRegistry registry(String declarations) throws IOException {
        Files.writeString(dir.resolve(TaskRegistry.FILE), declarations);
        return new TaskRegistry(new PromptLibrary(Optional.of(dir)));
    }

    @Test
    void thePackagedTasks() {
        TaskRegistry packaged = new TaskRegistry(new PromptLibrary(Optional.empty()));
        assertEquals(List.of("sentiment", "extract", "intent", "keywords", "summary", "translate"),
                packaged.all().stream().map(TaskDefinition::name).toList());
        assertEquals(TaskDefinition.Output.PHRASES, packaged.require("keywords").output());
        assertEquals(TaskDefinition.Output.JSON, packaged.require("extract").output());
        assertEquals(List.of("language"), packaged.require("translate").variables());
        assertTrue(assertThrows(UnknownTaskException.class, () -> packaged.require("poetry")).getMessage().contains("intent"));
    }

    @Test
    void anOverrideReplacesATaskWhollyAndAddsNewOnes() throws IOException {
        Files.writeString(dir.resolve("tone.txt"), "判断语气");
        TaskRegistry r = registry("summary.output=phrases\nsummary.max-tokens=20\ntone.output=labels\ntone.labels=calm, angry\n");
        assertEquals(TaskDefinition.Output.PHRASES, r.require("summary").output());
        assertEquals(20, r.require("summary").maxTokens());
        assertEquals("summary", r.require("summary").description(), "nothing kept from the packaged summary");
        assertEquals(List.of("calm", "angry"), r.require("tone").labels());
        assertEquals(7, r.all().size());
    }

    @Test
    void aDeclarationThatCannotWorkIsRefusedByName() throws IOException {
        assertEquals("prompts/tasks.properties: summary.output: 'essay' is not labels, text, phrases or json",
                assertThrows(IllegalStateException.class, () -> registry("summary.output=essay\nsummary.max-tokens=9\n")).getMessage());
        assertTrue(assertThrows(IllegalStateException.class, () -> registry("intent.output=labels\nintent.labels=only\n"))
                .getMessage().contains("intent.labels: a labels task needs at least two labels"));
        assertTrue(assertThrows(IllegalStateException.class, () -> registry("summary.output=text\n"))
                .getMessage().contains("summary.max-tokens"));
        assertTrue(assertThrows(IllegalStateException.class, () -> registry("poem.output=text\npoem.max-tokens=9\n"))
                .getMessage().contains("poem.txt is neither packaged nor in allinone.prompts.path"));
        assertTrue(assertThrows(IllegalStateException.class, () -> registry("intent.outputs=labels\n"))
                .getMessage().contains("intent.outputs: expected <task>.<output|labels|max-tokens|variables|description>"));
        Files.writeString(dir.resolve("card.txt"), "提取");
        assertTrue(assertThrows(IllegalStateException.class, () -> registry("card.output=json\ncard.max-tokens=64\n"))
                .getMessage().contains("card: a json task needs its schema card.schema.json beside its prompt"));
        Files.writeString(dir.resolve("card.schema.json"), "{\"type\":\"string\",\"format\":\"email\"}");
        String refused = assertThrows(IllegalStateException.class, () -> registry("card.output=json\ncard.max-tokens=64\n")).getMessage();
        assertTrue(refused.contains("card.schema.json") && refused.contains("'format'"), refused);
        Files.writeString(dir.resolve("card.schema.json"), "{\"type\":\"object\",\"properties\":{\"email\":{\"type\":\"string\"}}}");
        assertEquals(TaskDefinition.Output.JSON, registry("card.output=json\ncard.max-tokens=64\n").require("card").output());
        Files.writeString(dir.resolve("Bad Name.txt"), "x");
        assertTrue(assertThrows(IllegalStateException.class, () -> registry("Bad\\ Name.output=text\nBad\\ Name.max-tokens=3\n"))
                .getMessage().contains("a task name is lower-case"));
    }

    @Test
    void phrasesAreSplitAndCleaned() {
        assertEquals(List.of("电池续航", "系统更新", "发热"), TaskRunner.phrases("1. 电池续航\n2) 系统更新\n- 发热\n\n1. 电池续航"));
        assertEquals(List.of("battery drain", "new update"), TaskRunner.phrases("battery drain, new update"));
        assertEquals(List.of("正面太棒了", "恭喜你"), TaskRunner.phrases("正面太棒了，恭喜你"));
        assertEquals(TaskRunner.MAX_PHRASES, TaskRunner.phrases("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl").size());
    }
}
