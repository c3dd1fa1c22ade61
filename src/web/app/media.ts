/**
 * The local camera and microphone, with the fallbacks the call needs: both, else the microphone
 * alone, else nothing (the call still has chat and files). Each fallback says why, in words.
 */

/** The local stream and, when it is not camera + microphone, why. */
export interface LocalMedia {
  stream: MediaStream;
  problem: string | undefined;
}

function reason(err: unknown): string {
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'permission was denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'no such device was found';
  if (name === 'NotReadableError') return 'the device is in use by another program';
  return err instanceof Error ? err.message : String(err);
}

/** Opens camera + microphone, falling back to microphone only, then to no media. */
export async function openLocalMedia(): Promise<LocalMedia> {
  const devices = (navigator as Partial<Navigator>).mediaDevices;
  if (devices === undefined) {
    return { stream: new MediaStream(), problem: 'This page is not a secure context (https or localhost), so the browser offers no camera or microphone: you are in the call for chat and files only.' };
  }
  try {
    return { stream: await devices.getUserMedia({ audio: true, video: true }), problem: undefined };
  } catch (both) {
    try {
      const stream = await devices.getUserMedia({ audio: true });
      return { stream, problem: `Camera unavailable (${reason(both)}): you are in the call with audio only.` };
    } catch (audio) {
      return {
        stream: new MediaStream(),
        problem: `Camera and microphone unavailable (${reason(audio)}): you are in the call for chat and files only. Allow them in the site settings and reload to send audio and video.`,
      };
    }
  }
}

/** Opens the camera alone (turning video on later); throws a readable Error. */
export async function openCamera(): Promise<MediaStreamTrack> {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true });
    const track = stream.getVideoTracks()[0];
    if (track === undefined) throw new Error('no video track');
    return track;
  } catch (err) {
    throw new Error(`Camera unavailable: ${reason(err)}.`);
  }
}

/** Opens the microphone alone; throws a readable Error. */
export async function openMicrophone(): Promise<MediaStreamTrack> {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const track = stream.getAudioTracks()[0];
    if (track === undefined) throw new Error('no audio track');
    return track;
  } catch (err) {
    throw new Error(`Microphone unavailable: ${reason(err)}.`);
  }
}
