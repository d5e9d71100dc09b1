/**
 * The example application as a module: it needs only the API module. The ONNX Runtime backend
 * ({@code dev.avatar4j.onnx}) and FFmpeg media ({@code dev.avatar4j.media.ffmpeg}) are service
 * providers, resolved by service binding because their jars are on the module path; likewise
 * {@code org.slf4j.simple}.
 */
module com.example.talkingavatar {
    requires dev.avatar4j;
}
