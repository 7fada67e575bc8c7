/**
 * The models of the bundled repository (`models/`), sorted: what `npm start` serves. One list for the
 * tests that check the whole repository; test/example-models.test.ts checks it against the folder.
 */
export const BUNDLED_MODELS: readonly string[] = [
  'diabetes',
  'digits',
  'digits_pipeline',
  'digits_postprocess',
  'digits_preprocess',
  'digits_torchscript',
  'image_preprocess',
  'inception_pipeline',
  'inception_v3',
  'iris',
  'signal_filter',
  'topk_labels',
  'word_ids',
];

/** How errors name the bundled models: the first ten, then how many more (lists in messages are bounded). */
export const BUNDLED_MODELS_IN_ERRORS = `${BUNDLED_MODELS.slice(0, 10).join(', ')} (and ${BUNDLED_MODELS.length - 10} more)`;
