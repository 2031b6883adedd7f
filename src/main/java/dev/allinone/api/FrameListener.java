package dev.allinone.api;

import dev.allinone.ai.ChatTurn;
import dev.allinone.ai.TaskResult;
import java.util.function.Consumer;

/** A chat turn's events as frames, for the WebSocket, the REST answer and the server-sent events alike. */
record FrameListener(Consumer<Frame> sink) implements ChatTurn.Listener {

    /** The sentiment keeps its own frame; every other task's answer is an analysis frame. */
    @Override
    public void analysis(TaskResult r) {
        sink.accept(r.task().equals("sentiment") ? new Frame.Sentiment(r.label(), r.score())
                : new Frame.Analysis(r));
    }

    @Override
    public void token(String text) {
        sink.accept(new Frame.Token(text));
    }

    @Override
    public void done(int tokens, long millis, String finish) {
        sink.accept(new Frame.Done(tokens, millis, finish));
    }

    @Override
    public void failed(Throwable error) {
        sink.accept(Failure.of(error).frame());
    }
}
