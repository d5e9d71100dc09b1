package dev.avatar4j;

import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.bundle.DefaultBundle;
import dev.avatar4j.bundle.ZipBundle;
import dev.avatar4j.family.PlanReport;
import dev.avatar4j.family.longcat.LongCatConfig;
import dev.avatar4j.family.longcat.LongCatPlanReport;
import dev.avatar4j.family.preview.PreviewConfig;
import dev.avatar4j.family.preview.PreviewPlanReport;
import dev.avatar4j.family.stableavatar.StableAvatarConfig;
import dev.avatar4j.family.stableavatar.StableAvatarEngine;
import dev.avatar4j.family.stableavatar.StableAvatarPlan;
import dev.avatar4j.family.stableavatar.StableAvatarPlanReport;
import dev.avatar4j.io.MediaRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Works out a {@link Plan} from a bundle's manifest and the speech's length, without loading a
 * model: the manifest is read (a directory's file only, nothing verified or opened; a zip is
 * checked and extracted like any zip bundle), the speech is counted (a 16 kHz PCM WAV from its
 * header, anything else by a streaming decode pass, so hours of audio plan in bounded memory) and
 * the family's own plan code, the code its engine runs with, does the rest.
 */
final class Planner {
    /** Manifests larger than this are refused, as by the bundle loader (they are a few kB). */
    private static final long MAX_MANIFEST_BYTES = 1 << 20;

    private Planner() {
    }

    /**
     * Plans for a bundle given by path, or the default model when {@code dir} is null (the
     * configured one, else the built-in one).
     */
    static Plan plan(Path dir, PlanRequest request) {
        Path d = dir != null ? dir : AvatarModel.configuredDefault();
        BundleManifest manifest = d != null ? readManifest(d) : DefaultBundle.open().manifest();
        return plan(d, manifest, request);
    }

    /** Plans for a manifest; {@code dir} (null for the built-in model) names the bundle in messages. */
    static Plan plan(Path dir, BundleManifest manifest, PlanRequest r) {
        try {
            return switch (manifest.family()) {
                case LongCatConfig.FAMILY -> longCat(dir, manifest, r);
                case PreviewConfig.FAMILY -> preview(dir, manifest, r);
                default -> stableAvatar(dir, manifest, r);
            };
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(e.getMessage(), e);
        }
    }

    private static Plan longCat(Path dir, BundleManifest manifest, PlanRequest r) {
        LongCatConfig cfg;
        try {
            cfg = LongCatConfig.from(manifest);
        } catch (BundleException e) {
            throw dir == null ? e : new BundleException(dir + ": " + e.getMessage(), e);
        }
        if (r.shiftOrNull() != null) {
            cfg = LongCatPlanReport.withShift(cfg, r.shiftOrNull());
        }
        List<Plan.Track> tracks = layOut(r, cfg.sampleRate());
        long samples = total(tracks);
        PlanReport report = LongCatPlanReport.of(LongCatPlanReport.plan(cfg, samples, r.stepsOrNull(),
                r.widthOrNull(), r.heightOrNull()), tracks.size());
        return new Plan(report, tracks);
    }

    private static Plan preview(Path dir, BundleManifest manifest, PlanRequest r) {
        PreviewConfig cfg;
        try {
            cfg = PreviewConfig.from(manifest);
        } catch (BundleException e) {
            throw dir == null ? e : new BundleException(dir + ": " + e.getMessage(), e);
        }
        Plan.Track track = single(r, PreviewConfig.FAMILY, cfg.sampleRate());
        return new Plan(PreviewPlanReport.of(cfg, track.samples(), r.widthOrNull(), r.heightOrNull()),
                List.of(track));
    }

    private static Plan stableAvatar(Path dir, BundleManifest manifest, PlanRequest r) {
        StableAvatarConfig cfg;
        try {
            cfg = StableAvatarEngine.configOf(manifest);
        } catch (BundleException e) {
            throw dir == null ? new BundleException("the built-in default model (family \"" + manifest.family()
                    + "\") has no plan", e) : new BundleException(dir + ": " + e.getMessage(), e);
        }
        Plan.Track track = single(r, manifest.family(), cfg.sampleRate());
        StableAvatarPlan plan = StableAvatarPlan.create(cfg, track.samples(),
                r.stepsOrNull() != null ? r.stepsOrNull() : cfg.defaultSteps(),
                r.overlapOrNull() != null ? r.overlapOrNull() : cfg.overlap(),
                r.weightsOrNull() != null ? r.weightsOrNull() : cfg.weights(),
                r.widthOrNull() != null ? r.widthOrNull() : cfg.width(),
                r.heightOrNull() != null ? r.heightOrNull() : cfg.height());
        return new Plan(StableAvatarPlanReport.of(plan), List.of(track));
    }

    /** The one speech file of a single-speaker family, counted. */
    private static Plan.Track single(PlanRequest r, String family, int rate) {
        if (r.speech().size() > 1) {
            throw new InvalidInputException("family " + family + " animates one speaker; use a longcat-avatar model "
                    + "for several");
        }
        Path file = r.speech().getFirst();
        return new Plan.Track(file, 0, MediaRegistry.global().countAudio(file, rate));
    }

    /** The tracks laid out as a generation lays them out: in parallel from 0, or in turns. */
    private static List<Plan.Track> layOut(PlanRequest r, int rate) {
        boolean sequential = r.audioMode() == AudioMode.SEQUENTIAL;
        List<Plan.Track> tracks = new ArrayList<>();
        long total = 0;
        for (Path file : r.speech()) {
            long n = MediaRegistry.global().countAudio(file, rate);
            tracks.add(new Plan.Track(file, sequential ? total : 0, n));
            total = sequential ? total + n : Math.max(total, n);
        }
        return tracks;
    }

    private static long total(List<Plan.Track> tracks) {
        long end = 0;
        for (Plan.Track t : tracks) {
            end = Math.max(end, t.offset() + t.samples());
        }
        return end;
    }

    /** The manifest of bundle {@code dir}, with the messages of a missing or non-bundle directory. */
    static BundleManifest readManifest(Path dir) {
        if (!Files.exists(dir)) {
            throw new BundleException("model bundle not found: " + dir);
        }
        if (ZipBundle.isZip(dir)) {
            return Bundle.open(dir).manifest(); // checked and extracted like any zip bundle
        }
        if (!Files.isDirectory(dir)) {
            throw new BundleException("model bundle must be a directory or a .zip file: " + dir);
        }
        Path file = dir.resolve(BundleManifest.FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new BundleException(dir + " is not a model bundle: it has no " + BundleManifest.FILE_NAME);
        }
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_MANIFEST_BYTES) {
                throw new BundleException(file + " is too large");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new BundleException("cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            return BundleManifest.parse(bytes);
        } catch (BundleException e) {
            throw new BundleException(dir + ": " + e.getMessage(), e);
        }
    }
}
