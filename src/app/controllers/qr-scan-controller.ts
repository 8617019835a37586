/**
 * Scans a sensor's QR code with the camera and `BarcodeDetector` where the browser has it
 * (protocol §3.3 payload). The camera runs only while scanning and stops when the host leaves the
 * page, so a forgotten scan does not keep the camera on.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

interface DetectedBarcode {
  readonly rawValue: string;
}
interface BarcodeDetectorLike {
  detect(source: HTMLVideoElement): Promise<DetectedBarcode[]>;
}
type BarcodeDetectorCtor = new (options: { formats: string[] }) => BarcodeDetectorLike;

const SCAN_EVERY_MS = 250;

export function qrScanSupported(): boolean {
  return 'BarcodeDetector' in globalThis && typeof navigator.mediaDevices?.getUserMedia === 'function';
}

export class QrScanController implements ReactiveController {
  scanning = false;
  problem = '';
  private stream: MediaStream | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  /** Starts the camera into `video`; calls `found` once with the first QR text seen. */
  async start(video: HTMLVideoElement, found: (text: string) => void): Promise<void> {
    this.stop();
    this.problem = '';
    const Detector = (globalThis as unknown as { BarcodeDetector?: BarcodeDetectorCtor }).BarcodeDetector;
    if (Detector === undefined) return;
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch {
      this.problem = 'The camera could not be used. Allow camera access, or type the setup code instead.';
      this.host.requestUpdate();
      return;
    }
    video.srcObject = this.stream;
    await video.play().catch(() => undefined);
    this.scanning = true;
    this.host.requestUpdate();
    const detector = new Detector({ formats: ['qr_code'] });
    const scan = async (): Promise<void> => {
      if (!this.scanning) return;
      const codes = await detector.detect(video).catch(() => []);
      const text = codes[0]?.rawValue;
      if (text !== undefined) {
        this.stop();
        found(text);
        return;
      }
      this.timer = setTimeout(() => void scan(), SCAN_EVERY_MS);
    };
    void scan();
  }

  stop(): void {
    this.scanning = false;
    clearTimeout(this.timer);
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = undefined;
    this.host.requestUpdate();
  }

  hostDisconnected(): void {
    this.stop();
  }
}
