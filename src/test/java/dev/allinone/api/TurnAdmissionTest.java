package dev.allinone.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Turns run while there are places, wait in order with their place told, and are refused only when the queue is full. */
class TurnAdmissionTest {

    private record Waiting(CompletableFuture<TurnAdmission.Ticket> ticket, List<Integer> places, AtomicBoolean abandon) {
    }

    private static Waiting enterLater(TurnAdmission admission, String client) {
        List<Integer> places = new CopyOnWriteArrayList<>();
        AtomicBoolean abandon = new AtomicBoolean();
        CompletableFuture<TurnAdmission.Ticket> ticket = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                ticket.complete(admission.enter(client, places::add, abandon::get));
            } catch (Throwable e) {
                ticket.completeExceptionally(e);
            }
        });
        return new Waiting(ticket, places, abandon);
    }

    private static void awaitWaiting(TurnAdmission admission, int n) throws InterruptedException {
        for (int i = 0; i < 400 && admission.waiting() != n; i++) {
            Thread.sleep(5);
        }
        assertEquals(n, admission.waiting());
    }

    @Test
    void turnsWaitInOrderToldTheirPlaceAndOnlyAFullQueueRefuses() throws Exception {
        TurnAdmission admission = new TurnAdmission(1, 4, 2);
        TurnAdmission.Ticket first = admission.enter("alice", p -> { }, () -> false);
        Waiting bob = enterLater(admission, "bob");
        awaitWaiting(admission, 1);
        Waiting carol = enterLater(admission, "carol");
        awaitWaiting(admission, 2);
        assertThrows(TurnAdmission.QueueFull.class, () -> admission.enter("dave", p -> { }, () -> false));

        first.close();
        TurnAdmission.Ticket second = bob.ticket().get(5, TimeUnit.SECONDS);
        for (int i = 0; i < 400 && carol.places().size() < 2; i++) {
            Thread.sleep(5);
        }
        assertTrue(!carol.ticket().isDone());
        second.close();
        assertNotNull(carol.ticket().get(5, TimeUnit.SECONDS));
        assertEquals(List.of(1), bob.places());
        assertEquals(List.of(2, 1), carol.places(), "told its place, and again when the turn ahead started");
    }

    @Test
    void aClientAtItsCapLetsTheTurnsBehindItPass() throws Exception {
        TurnAdmission admission = new TurnAdmission(2, 1, 4);
        TurnAdmission.Ticket a = admission.enter("alice", p -> { }, () -> false);
        TurnAdmission.Ticket b = admission.enter("bob", p -> { }, () -> false);
        Waiting aliceAgain = enterLater(admission, "alice");
        awaitWaiting(admission, 1);
        Waiting carol = enterLater(admission, "carol");
        awaitWaiting(admission, 2);

        b.close(); // a place is free; alice is at her cap, so carol, behind her, takes it
        assertNotNull(carol.ticket().get(5, TimeUnit.SECONDS));
        assertTrue(!aliceAgain.ticket().isDone());
        a.close();
        assertNotNull(aliceAgain.ticket().get(5, TimeUnit.SECONDS));
    }

    @Test
    void aTurnAbandonedWhileWaitingLeavesTheQueue() throws Exception {
        TurnAdmission admission = new TurnAdmission(1, 1, 4);
        TurnAdmission.Ticket running = admission.enter("alice", p -> { }, () -> false);
        Waiting bob = enterLater(admission, "bob");
        awaitWaiting(admission, 1);
        bob.abandon().set(true);
        assertNull(bob.ticket().get(5, TimeUnit.SECONDS));
        assertEquals(0, admission.waiting());
        running.close();
        assertNotNull(admission.enter("carol", p -> { }, () -> false));
    }
}
