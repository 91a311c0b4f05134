// Compiled with `tsc -p tests/types` (no output): the package's types describe the API as the
// README documents it, and reject misuse (each @ts-expect-error must be a real type error).
import { ImageClassifier, type Classification, type Prediction } from 'image-classifier';

export async function example(file: File, canvas: HTMLCanvasElement): Promise<string> {
  const classifier = await ImageClassifier.load('models/efficientnet-lite0', {
    onProgress: ({ loaded, total }) => console.log(loaded / Math.max(total, 1)),
  });
  const result: Classification = await classifier.classify(file, { topK: 5 });
  const best: Prediction = result.top[0];
  const fromCanvas = await classifier.classify(canvas);
  const size: number = classifier.manifest.input.width + classifier.loadInfo.bytes;
  classifier.dispose();

  // @ts-expect-error a string is not an image source
  await classifier.classify('dog.jpg');
  // @ts-expect-error topK is a number
  await classifier.classify(file, { topK: '5' });
  // @ts-expect-error the constructor is private: use ImageClassifier.load
  new ImageClassifier();
  // @ts-expect-error predictions have index, label, score only
  console.log(best.probability);

  return `${best.label} ${best.index} ${best.score} ${result.ms} ${fromCanvas.width} ${size}`;
}
