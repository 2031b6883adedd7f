package dev.allinone.api;

import dev.allinone.ai.ChatTurn;
import dev.allinone.ai.SentimentVerdict;
import java.util.function.Consumer;

/** A chat turn's events as frames, for the WebSocket, the REST answer and the server-sent events alike. */
record FrameListener(Consumer<Frame> sink) implements ChatTurn.Listener {

    @Override
    public void sentiment(SentimentVerdict verdict) {
        sink.accept(new Frame.Sentiment(verdict.label().name(), verdict.score()));
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
