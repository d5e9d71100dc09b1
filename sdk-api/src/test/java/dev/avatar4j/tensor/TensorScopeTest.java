package dev.avatar4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.GraphSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** Scoped tensor lifetimes: what a scope owns, when it is freed, and how a graph result owns its outputs. */
@Isolated // reads the process-wide live counters
class TensorScopeTest {

    @Test
    void closingTheScopeFreesEveryTensorMadeInItAndTheCountsReturn() {
        long live = TensorLeaks.live();
        long bytes = TensorLeaks.liveBytes();
        Tensor a;
        Tensor b;
        Tensor c;
        try (TensorScope scope = TensorScope.open()) {
            a = scope.allocate(DType.FLOAT32, 2, 3);
            b = scope.ofFloats(new float[] {1, 2, 3}, 3);
            c = scope.ofLongs(new long[] {7}, 1);
            assertThat(a.getFloat(5)).isZero(); // zero-filled
            assertThat(b.toFloatArray()).containsExactly(1, 2, 3);
            assertThat(c.getFloat(0)).isEqualTo(7f);
            assertThat(scope.byteSize()).isEqualTo(24 + 12 + 8);
            assertThat(TensorLeaks.live()).isEqualTo(live + 1); // one owner, however many tensors
            assertThat(TensorLeaks.liveBytes()).isEqualTo(bytes + 44);
            a.close(); // a scoped tensor is not freed on its own
            assertThat(a.getFloat(0)).isZero();
            assertThat(a.ownsMemory()).isFalse();
            assertThat(a.toString()).contains("scoped");
        }
        assertThat(TensorLeaks.live()).isEqualTo(live);
        assertThat(TensorLeaks.liveBytes()).isEqualTo(bytes);
        for (Tensor t : List.of(a, b, c)) {
            assertThatThrownBy(() -> t.getFloat(0)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void aSubScopeIsFreedEarlyOnItsOwnOrWithItsParent() {
        long live = TensorLeaks.live();
        long bytes = TensorLeaks.liveBytes();
        Tensor early;
        Tensor late;
        try (TensorScope parent = TensorScope.open()) {
            TensorScope first = parent.newSubScope();
            early = first.allocate(DType.FLOAT32, 4);
            first.close();
            assertThatThrownBy(() -> early.getFloat(0)).isInstanceOf(IllegalStateException.class);
            assertThat(parent.toString()).contains("0 attached"); // a closed child is forgotten
            TensorScope second = parent.newSubScope();
            late = second.allocate(DType.FLOAT32, 4);
            assertThat(late.getFloat(3)).isZero();
        }
        assertThatThrownBy(() -> late.getFloat(0)).isInstanceOf(IllegalStateException.class);
        assertThat(TensorLeaks.live()).isEqualTo(live);
        assertThat(TensorLeaks.liveBytes()).isEqualTo(bytes);
    }

    @Test
    void attachedResourcesCloseNewestFirstAndAFailureDoesNotStopTheRest() {
        List<String> closed = new ArrayList<>();
        TensorScope scope = TensorScope.open();
        scope.attach(() -> closed.add("first"));
        scope.attach(() -> {
            closed.add("second");
            throw new IllegalStateException("boom");
        });
        scope.attach(() -> closed.add("third"));
        Tensor t = scope.allocate(DType.FLOAT32, 1);
        assertThatThrownBy(scope::close).isInstanceOf(IllegalStateException.class).hasMessage("boom");
        assertThat(closed).containsExactly("third", "second", "first");
        assertThatThrownBy(() -> t.getFloat(0)).isInstanceOf(IllegalStateException.class);
        scope.close(); // idempotent
        assertThat(closed).hasSize(3);
        assertThat(scope.isOpen()).isFalse();
    }

    @Test
    void aClosedScopeRefusesNewTensorsAndClosesWhatIsAttachedToIt() {
        TensorScope scope = TensorScope.open();
        scope.close();
        boolean[] closed = {false};
        assertThatThrownBy(() -> scope.allocate(DType.FLOAT32, 1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(scope::newSubScope).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> scope.attach(() -> closed[0] = true)).isInstanceOf(IllegalStateException.class);
        assertThat(closed[0]).as("the refused resource is not leaked").isTrue();
    }

    @Test
    void standaloneTensorsCanBeOwnedByAScope() {
        long live = TensorLeaks.live();
        long bytes = TensorLeaks.liveBytes();
        Tensor owned;
        try (TensorScope scope = TensorScope.open()) {
            owned = scope.attach(Tensor.allocate(DType.INT64, 3));
            assertThat(TensorLeaks.liveBytes()).isEqualTo(bytes + 24);
        }
        assertThatThrownBy(() -> owned.getFloat(0)).isInstanceOf(IllegalStateException.class);
        assertThat(TensorLeaks.live()).isEqualTo(live);
        assertThat(TensorLeaks.liveBytes()).isEqualTo(bytes);
    }

    @Test
    void wrongValueCountsAndNegativeDimensionsAreRefusedWithoutLeaking() {
        long bytes = TensorLeaks.liveBytes();
        try (TensorScope scope = TensorScope.open()) {
            assertThatThrownBy(() -> scope.ofFloats(new float[2], 3)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("needs 3 values, got 2");
            assertThatThrownBy(() -> scope.ofLongs(new long[2], 3)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> scope.allocate(DType.FLOAT32, -1)).isInstanceOf(IllegalArgumentException.class);
            assertThat(scope.byteSize()).isZero();
        }
        assertThat(TensorLeaks.liveBytes()).isEqualTo(bytes);
    }

    @Test
    void aGraphResultOwnsItsOutputsAndNamesAMissingOne() {
        long live = TensorLeaks.live();
        TensorScope memory = TensorScope.open();
        Tensor y = memory.ofFloats(new float[] {4, 5}, 2);
        Tensor out;
        try (GraphSession.Result result = new GraphSession.Result(memory, Map.of("y", y))) {
            out = result.get("y");
            assertThat(out.toFloatArray()).containsExactly(4, 5);
            assertThat(result.names()).containsExactly("y");
            assertThatThrownBy(() -> result.get("z")).isInstanceOf(BackendException.class)
                    .hasMessageContaining("no output 'z'").hasMessageContaining("[y]");
        }
        assertThatThrownBy(() -> out.getFloat(0)).isInstanceOf(IllegalStateException.class);
        assertThat(TensorLeaks.live()).isEqualTo(live);
    }

    @Test
    void aResultAttachedToAScopeLivesAsLongAsTheScope() {
        long live = TensorLeaks.live();
        Tensor out;
        try (TensorScope scope = TensorScope.open()) {
            TensorScope memory = TensorScope.open();
            out = scope.attach(new GraphSession.Result(memory, Map.of("y", memory.allocate(DType.FLOAT32, 1))))
                    .get("y");
            assertThat(out.getFloat(0)).isZero();
        }
        assertThatThrownBy(() -> out.getFloat(0)).isInstanceOf(IllegalStateException.class);
        assertThat(TensorLeaks.live()).isEqualTo(live);
    }
}
