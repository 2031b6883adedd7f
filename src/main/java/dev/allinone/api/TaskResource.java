package dev.allinone.api;

import dev.allinone.ai.TaskDefinition;
import dev.allinone.ai.TaskRegistry;
import dev.allinone.ai.TaskResult;
import dev.allinone.ai.TaskRunner;
import com.fasterxml.jackson.annotation.JsonInclude;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.ExampleObject;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

import java.util.List;
import java.util.Locale;

/** {@code GET /api/tasks}: the prompt-defined tasks; {@code POST /api/tasks/{name} {"text","params"?}}: run one. */
@Path("/api/tasks")
public class TaskResource {

    /** @param labels a labels task's answers; @param parameters what a request must give in {@code params} */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record TaskInfo(String name, String description, String output, List<String> labels, List<String> parameters) {
        static TaskInfo of(TaskDefinition t) {
            return new TaskInfo(t.name(), t.description(), t.output().name().toLowerCase(Locale.ROOT), t.labels(), t.variables());
        }
    }

    private final TaskRegistry registry;
    private final TaskRunner runner;

    TaskResource(TaskRegistry registry, TaskRunner runner) {
        this.registry = registry;
        this.runner = runner;
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "The tasks this service runs by prompt, with their output types")
    public List<TaskInfo> tasks() {
        return registry.all().stream().map(TaskInfo::of).toList();
    }

    @POST
    @Path("/{name}")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "Runs one task on a text: a label and its probability, a text, or phrases")
    @RequestBody(content = @Content(examples = {
            @ExampleObject(name = "intent (中文)", value = "{\"text\":\"我上周买的耳机坏了，要求退货！\"}"),
            @ExampleObject(name = "keywords (English)", value = "{\"text\":\"The new update drains my phone battery overnight.\"}"),
            @ExampleObject(name = "translate", value = "{\"text\":\"刚拿到offer，超级开心！\",\"params\":{\"language\":\"English\"}}")}))
    @APIResponse(responseCode = "200", content = @Content(examples = {
            @ExampleObject(name = "labels", value = "{\"task\":\"intent\",\"label\":\"complaint\",\"score\":0.87}"),
            @ExampleObject(name = "phrases", value = "{\"task\":\"keywords\",\"phrases\":[\"battery drain\",\"new update\"]}"),
            @ExampleObject(name = "text", value = "{\"task\":\"translate\",\"text\":\"Just got the offer, so happy!\"}")}))
    public TaskResult run(@PathParam("name") String name, Requests.TaskRequest request) {
        Requests.checked(request);
        return runner.run(name, request.text(), request.params());
    }
}
