// Fashion-MNIST in the page: its test images, class names and zoo models; the dataset and the
// model stay consistent whatever the URL says; switching back restores MNIST.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, SHOTS, BASE_URL } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const ready = (page) => page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });

test('Fashion-MNIST: its images, classes and models; attacks run; switching back works', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&dataset=fashion-mnist&attack=fgsm&eps=0.1');
  await ready(page);
  assert.equal(await page.locator('#dataset').inputValue(), 'fashion-mnist');
  assert.equal(await page.locator('#model').inputValue(), 'fashion-small-cnn');
  assert.deepEqual(await page.locator('#model option').evaluateAll((o) => o.map((x) => x.value)),
    ['fashion-small-cnn', 'fashion-small-cnn-pgd0.1']);
  assert.match(await page.locator('#label').textContent(), /Fashion-MNIST test image 0 .* Ankle boot/);
  assert.equal(await page.locator('#prediction').getAttribute('data-class'), '9');
  assert.equal(await page.locator('.batch-model').count(), 2);
  assert.equal(await page.locator('#train-unavailable').count(), 1);
  await page.click('#attack-run');
  await page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 60_000 });
  // The verdict agrees with the class the adversarial gets (the label is 9, Ankle boot).
  const result = page.locator('#attack-result');
  const now = Number(await result.getAttribute('data-class'));
  const fooled = now !== 9;
  assert.equal(await result.getAttribute('data-success'), String(fooled));
  assert.match(await result.textContent(), fooled ? /^Fooled: Ankle boot → / : /^Still Ankle boot/);
  await page.screenshot({ path: `${SHOTS}/fashion.png`, fullPage: true });

  await page.selectOption('#dataset', 'mnist');
  await ready(page);
  assert.equal(await page.locator('#model').inputValue(), 'mnist-small-cnn');
  assert.match(await page.locator('#label').textContent(), /^MNIST test image 0/);
  assert.doesNotMatch(page.url(), /dataset=/);
  assert.equal(await page.locator('.batch-model').count(), 12);
  assert.deepEqual(errors, []);
});

test('the dataset follows the model; a mismatched or unknown one is refused with a warning', async () => {
  let { page, errors } = await open(browser, '?backend=cpu&model=fashion-small-cnn-pgd0.1');
  await ready(page);
  assert.equal(await page.locator('#dataset').inputValue(), 'fashion-mnist');
  assert.deepEqual(errors, []);

  ({ page, errors } = await open(browser, '?backend=cpu&dataset=fashion-mnist&model=mnist-lenet5'));
  await ready(page);
  assert.equal(await page.locator('#model').inputValue(), 'fashion-small-cnn');
  assert.match((await page.locator('.warning').allTextContents()).join('\n'), /mnist-lenet5 is a mnist model/);
  assert.deepEqual(errors, []);

  ({ page, errors } = await open(browser, '?backend=cpu&dataset=cifar-10'));
  await ready(page);
  assert.equal(await page.locator('#dataset').inputValue(), 'mnist');
  assert.match((await page.locator('.warning').allTextContents()).join('\n'), /ignored dataset/);
  assert.deepEqual(errors, []);
});

test("MNIST's images and the default weights are fetched: a missing or corrupt file is named", async () => {
  // The page downloads them beside the bundle (and preloads them): each failure says which file.
  const cases = [
    ['**/subsets/mnist-test-1k-images-idx3-ubyte.gz', { status: 404, body: 'gone' },
      /MNIST test images are unreadable: .*mnist-test-1k-images-idx3-ubyte\.gz: HTTP 404/],
    ['**/models/mnist-small-cnn.safetensors', { status: 200, body: Buffer.alloc(512, 0x5a) },
      /model mnist-small-cnn/],
  ];
  for (const [pattern, answer, message] of cases) {
    const context = await browser.newContext();
    await context.route(pattern, (route) => route.fulfill(answer));
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${BASE_URL}?backend=cpu`);
    await page.locator('#error').waitFor({ timeout: 120_000 });
    assert.match(await page.locator('#error').textContent(), message);
    assert.equal(await page.locator('#prediction[data-ready="true"]').count(), 0);
    assert.deepEqual(errors, []);
    await context.close();
  }
});
